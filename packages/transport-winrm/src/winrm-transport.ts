import {
  type BoundParameters,
  type BoundValue,
  type PSCredentialValue,
  PSRemotingError,
  type TransportConnection,
  type TransportContext,
  type TransportPlugin,
  TransportPluginToken,
  type TransportTarget,
} from '@psremote/core';
import { certificateAuth } from './auth/certificate-auth.ts';
import type { Crypt32Ffi } from './auth/certstore/crypt32-ffi.ts';
import { encryptionOracleFromEnv } from './auth/credssp/encryption-oracle.ts';
import {
  AUTHENTICATION_MECHANISMS,
  type AuthenticationMechanism,
  type AuthenticatorFactory,
  authenticatorFor,
  checkMechanism,
  WinrmCredential,
} from './auth-select.ts';
import {
  type ClientCertificateFile,
  certificateOverHttp,
  findCertificate,
  loadCertificate,
} from './client-certificate-target.ts';
import {
  endpointFromComputerName,
  endpointFromConnectionUri,
  type WsmanEndpoint,
} from './url/wsman-endpoint.ts';
import { WinrmConnection } from './winrm-connection.ts';
import { winrmSessionOptions } from './winrm-options.ts';
import { WsmanClient } from './wsman/client.ts';

/** What `resolveTarget` makes of the ComputerName and Uri sets. */
export interface WinrmTarget extends TransportTarget {
  readonly parameterSet: 'ComputerName' | 'Uri';
  readonly endpoint: WsmanEndpoint;
  readonly authentication: AuthenticationMechanism;
  /** The bound -Credential (its password hidden from logs and JSON); absent: none given. */
  readonly credential: WinrmCredential | undefined;
  /** -CertificateThumbprint: the certificate file found for it (client-certificate authentication). */
  readonly certificate?: ClientCertificateFile | undefined;
  /** -AllowRedirection (Uri set only). */
  readonly allowRedirection: boolean;
}

export interface WinrmTransportOptions {
  /** The authenticator for each client (default `authenticatorFor`: Basic; NTLM/Negotiate once merged). */
  readonly authenticatorFor?: AuthenticatorFactory;
  /** Extra trusted CA certificates (PEM) for HTTPS, beside the system store (tests use their own CA). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** `wsman:MaxEnvelopeSize` in bytes; default 150 KB (budget.ts DEFAULT_MAX_ENVELOPE_SIZE). */
  readonly maxEnvelopeSize?: number;
  /** Receive long-poll OperationTimeout in seconds; default WsmanClient's (20). */
  readonly receiveTimeoutSeconds?: number;
  /**
   * -CertificateThumbprint's Windows store: the platform whose lookup applies (default process.platform) and the
   * crypt32 to read it with (default the DLL). Tests stand a JavaScript crypt32 in, on any platform.
   */
  readonly certificateStore?: CertificateStoreOptions;
}

/** See WinrmTransportOptions.certificateStore. */
export interface CertificateStoreOptions {
  readonly platform?: NodeJS.Platform;
  readonly crypt32?: () => Crypt32Ffi;
}

/**
 * Whether `t` came from this plugin's resolveTarget: the type says so, but a JavaScript caller (or openSession's
 * `target` option) can hand any target.
 */
function resolvedByWinrm(t: WinrmTarget): boolean {
  return (
    (t.parameterSet === 'ComputerName' || t.parameterSet === 'Uri') &&
    typeof t.endpoint === 'object' &&
    t.endpoint !== null &&
    typeof t.authentication === 'string'
  );
}

function str(v: BoundValue | undefined): string | undefined {
  return typeof v === 'string' ? v : v === null || v === undefined ? undefined : String(v);
}

function isCredential(v: BoundValue | undefined): v is PSCredentialValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as PSCredentialValue).userName === 'string'
  );
}

/**
 * The ComputerName and Uri sets (WSManConnectionInfo): the endpoint by PowerShell's rules (wsman-endpoint.ts),
 * -Authentication and -Credential, -AllowRedirection. Pure: nothing is contacted. Throws PowerShell's errors.
 */
export function resolveWinrmTarget(
  bound: BoundParameters,
  env: Readonly<Record<string, string | undefined>> = process.env,
  store: CertificateStoreOptions = {},
): WinrmTarget {
  const b = bound.bound;
  const set = bound.parameterSet;
  if (set !== 'ComputerName' && set !== 'Uri')
    throw new TypeError(`The winrm transport does not serve the ${set} parameter set.`);
  const configurationName = str(b.ConfigurationName);
  if (set === 'Uri' && !str(b.ConnectionUri)) {
    // WSManConnectionInfo.ConnectionUri = null (the Uri set chosen by -AllowRedirection alone): ArgumentNullException.
    throw new PSRemotingError("Value cannot be null. (Parameter 'value')", {
      errorId: 'CreateRemoteRunspaceFailed',
      category: 'InvalidArgument',
      targetObject: null,
    });
  }
  const endpoint =
    set === 'Uri'
      ? endpointFromConnectionUri({
          connectionUri: str(b.ConnectionUri) as string,
          ...(configurationName ? { configurationName } : {}),
        })
      : endpointFromComputerName({
          computerName: str(b.ComputerName) ?? '',
          ...(typeof b.Port === 'number' ? { port: b.Port } : {}),
          useSSL: b.UseSSL === true,
          ...(str(b.ApplicationName) ? { applicationName: str(b.ApplicationName) as string } : {}),
          ...(configurationName ? { configurationName } : {}),
        });
  const thumbprint = str(b.CertificateThumbprint);
  const auth = (str(b.Authentication) ?? 'Default') as AuthenticationMechanism;
  const authentication = AUTHENTICATION_MECHANISMS.find((m) => m.toLowerCase() === auth.toLowerCase());
  if (!authentication)
    throw new PSRemotingError(
      `Cannot bind parameter 'Authentication'. Cannot convert value "${auth}" to type "System.Management.Automation.Runspaces.AuthenticationMechanism". Error: "Unable to match the identifier name ${auth} to a valid enumerator name. Specify one of the following enumerator names and try again: ${AUTHENTICATION_MECHANISMS.join(', ')}"`,
      { errorId: 'CannotConvertArgumentNoMessage', category: 'InvalidArgument', targetObject: auth },
    );
  const cred = b.Credential;
  const credential = isCredential(cred) ? new WinrmCredential(cred.userName, cred.password ?? '') : undefined;
  // PSRemotingBaseCmdlet.ValidateSpecifiedAuthentication: a certificate excludes -Credential and any -Authentication
  // but Default. The binder refuses this already (ParameterBindingFailed); a caller that bypasses it (the agent, a
  // library user) gets the same refusal rather than a credential silently dropped.
  if (thumbprint !== undefined && (credential || authentication !== 'Default'))
    throw new PSRemotingError(
      `A CertificateThumbPrint cannot be specified when ${credential ? 'Credential' : authentication} is specified.`,
      {
        errorId: 'NewRunspaceAmbiguousAuthentication',
        category: 'InvalidOperation',
        targetObject: endpoint.computerName,
      },
    );
  // -CertificateThumbprint (WSMAN_FLAG_AUTH_CLIENT_CERTIFICATE): found now, so --dry-run shows the file; the key is
  // read (and its passphrase asked for) at connect.
  const certificate =
    thumbprint !== undefined
      ? findCertificate(thumbprint, endpoint, env, store.platform ?? process.platform, store.crypt32)
      : undefined;
  // Kerberos, CredSSP, Digest and implicit credentials are refused here, before anything is contacted.
  if (!certificate) checkMechanism(authentication, credential !== undefined, endpoint.computerName);
  return {
    computerName: endpoint.computerName,
    // HostUtilities.GetRemotePrompt for a WSMan runspace: `[<ConnectionInfo.ComputerName>]: ` (the host of
    // -ConnectionUri).
    prompt: { kind: 'prefix', text: `[${endpoint.computerName}]: ` },
    // What --dry-run prints: where and how it would connect, never the password.
    summary: {
      url: endpoint.url,
      resourceUri: endpoint.resourceUri,
      authentication: certificate ? 'ClientCertificate' : authentication,
      userName: credential?.userName ?? null,
      allowRedirection: set === 'Uri' && b.AllowRedirection === true,
      ...(certificate?.store
        ? {
            certificateThumbprint: certificate.thumbprint,
            certificateSubject: certificate.subject,
            certificateStore: certificate.store,
          }
        : certificate
          ? {
              certificateThumbprint: certificate.thumbprint,
              certificateSubject: certificate.subject,
              certificateFile: certificate.certFile,
              certificateKeyFile: certificate.keyFile,
              certificateKeyEncrypted: certificate.encrypted,
            }
          : {}),
    },
    parameterSet: set,
    endpoint,
    authentication,
    credential,
    certificate,
    allowRedirection: set === 'Uri' && b.AllowRedirection === true,
  };
}

/** Basic over plain HTTP (RemotingErrorIdStrings.BasicAuthOverHttpNotSupported, what pwsh on Unix says). */
function basicOverHttpError(target: WinrmTarget): PSRemotingError {
  return new PSRemotingError('Basic authentication is not supported over HTTP on Unix.', {
    errorId: 'CreateRemoteRunspaceFailed',
    category: 'InvalidArgument',
    targetObject: target.computerName,
    recommendedAction:
      'Use -UseSSL (HTTPS), or -SessionOption @{NoEncryption=$true} against a server that allows unencrypted traffic (AllowUnencrypted=true); the password then crosses the network in clear.',
  });
}

/** The ComputerName and Uri parameter sets: PowerShell over WinRM (WS-Management). */
export function createWinrmTransport(options: WinrmTransportOptions = {}): TransportPlugin<WinrmTarget> {
  const makeAuthenticator = options.authenticatorFor ?? authenticatorFor;
  return {
    name: 'winrm',
    apiRange: '^2.0.0',
    parameterSets: ['ComputerName', 'Uri'],
    resolveTarget(bound: BoundParameters, env): WinrmTarget {
      return resolveWinrmTarget(bound, env ?? process.env, options.certificateStore);
    },
    async connect(target: WinrmTarget, ctx: TransportContext): Promise<TransportConnection> {
      if (!resolvedByWinrm(target))
        throw new TypeError('The winrm transport was given a target it did not resolve.');
      const o = winrmSessionOptions(ctx.options, ctx.env);
      const clientCert = target.certificate
        ? await loadCertificate(target, ctx, { ca: options.ca, crypt32: options.certificateStore?.crypt32 })
        : undefined;
      if (target.authentication === 'Basic' && target.endpoint.scheme === 'http' && !o.noEncryption)
        throw basicOverHttpError(target);
      // Read only for CredSSP, as Windows reads the policy only there: a bad value is refused before connecting.
      const credsspEncryptionOracle =
        target.authentication === 'Credssp' ? encryptionOracleFromEnv(ctx.env) : undefined;
      const createClient = (endpoint: WsmanEndpoint) => {
        if (clientCert && endpoint.scheme !== 'https') throw certificateOverHttp(endpoint);
        return new WsmanClient({
          endpoint,
          auth: clientCert
            ? certificateAuth()
            : makeAuthenticator({
                mechanism: target.authentication,
                credential: target.credential,
                endpoint,
                noEncryption: o.noEncryption,
                includePortInSpn: o.includePortInSpn,
                ...(credsspEncryptionOracle ? { credsspEncryptionOracle } : {}),
              }),
          locale: o.uiCulture,
          dataLocale: o.culture,
          operationTimeoutSeconds: o.operationTimeoutSeconds,
          tls: {
            skipCACheck: o.skipCACheck,
            skipCNCheck: o.skipCNCheck,
            ...(options.ca ? { ca: options.ca } : {}),
            ...clientCert,
          },
          ...(options.maxEnvelopeSize ? { maxEnvelopeSize: options.maxEnvelopeSize } : {}),
          ...(options.receiveTimeoutSeconds ? { receiveTimeoutSeconds: options.receiveTimeoutSeconds } : {}),
        });
      };
      const connection = new WinrmConnection({
        endpoint: target.endpoint,
        createClient,
        idleTimeoutMs: o.idleTimeoutMs,
        noMachineProfile: o.noMachineProfile,
        // A little before the kernel's own OpenTimeout, so WinRM's timeout text is what the user sees.
        openTimeoutMs: Math.max(1, o.openTimeoutMs - Math.min(250, Math.floor(o.openTimeoutMs / 10))),
        cancelTimeoutMs: o.cancelTimeoutMs,
        maxRedirects: target.allowRedirection ? o.maximumRedirection : 0,
        // RemotingErrorIdStrings.URIRedirectWarningToHost.
        onRedirect: (uri) =>
          ctx.hostUi.writeWarningLine(`Your connection has been redirected to the following URI: "${uri}"`),
        signal: ctx.signal,
        log: ctx.log,
      });
      return connection;
    },
  };
}

/** The ComputerName and Uri sets with the default authenticators. */
export const winrmTransport: TransportPlugin<WinrmTarget> = createWinrmTransport();

/** The part of a tsyringe DependencyContainer that `register` uses (psremote never imports tsyringe at runtime). */
export interface TransportContainer {
  register(token: symbol, provider: { useValue: TransportPlugin }): unknown;
}

/** Registers the winrm transport: `container.register(TransportPluginToken, { useValue: winrmTransport })`. */
export function register(container: TransportContainer): void {
  container.register(TransportPluginToken, { useValue: winrmTransport });
}
