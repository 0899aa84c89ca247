import { PSRemotingError } from '@psremote/core';
import { GssUnavailableError } from './gssapi/gss-errors.ts';
import { type GssapiLoadOptions, loadGssapi } from './gssapi/gss-ffi.ts';
import { checkTarget, type DisposableAuthenticator, kerberosAuth } from './kerberos-auth.ts';
import { type NegotiateChoice, negotiateWithKerberosAuth } from './negotiate-kerberos.ts';
import { loadSecurityProvider, type SecurityProviderOptions } from './security-context.ts';
import type { SspiLoadOptions } from './sspi/sspi-ffi.ts';

/** What the platform GSSAPI offers here, without throwing. */
export type GssapiStatus =
  | { readonly available: true; readonly library: string }
  | { readonly available: false; readonly error: GssUnavailableError };

/**
 * Loads koffi and the GSSAPI library (once) and says whether GSSAPI can be used on this machine (never on Windows:
 * see kerberosStatus for Kerberos itself; CredSSP's inner Kerberos needs GSSAPI).
 */
export function gssapiStatus(options?: GssapiLoadOptions): GssapiStatus {
  try {
    return { available: true, library: loadGssapi(options).library };
  } catch (e) {
    if (e instanceof GssUnavailableError) return { available: false, error: e };
    throw e;
  }
}

/** True when GSSAPI (through koffi) can be used on this machine. */
export function gssapiAvailable(options?: GssapiLoadOptions): boolean {
  return gssapiStatus(options).available;
}

/** Whether Kerberos/Negotiate can be used here: SSPI on Windows, GSSAPI elsewhere. */
export function kerberosStatus(options?: SecurityProviderOptions): GssapiStatus {
  try {
    return { available: true, library: loadSecurityProvider(options).library };
  } catch (e) {
    if (e instanceof GssUnavailableError) return { available: false, error: e };
    throw e;
  }
}

/** The -Authentication values this factory serves (the others are Basic, Credssp, Digest). */
export type IntegratedMechanism = 'Default' | 'Negotiate' | 'NegotiateWithImplicitCredential' | 'Kerberos';

export interface IntegratedAuthRequest {
  readonly mechanism: IntegratedMechanism;
  /** The bound -Credential (user name and a password revealed on demand); absent: the current user's tickets. */
  readonly credential?: { readonly userName: string; reveal(): string } | undefined;
  /** The target (WsmanEndpoint has these fields). */
  readonly endpoint: { readonly computerName: string; readonly host: string };
  /** PSSessionOption.NoEncryption. */
  readonly noEncryption?: boolean;
  /** PSSessionOption.IncludePortInSPN. */
  readonly includePortInSpn?: boolean;
  /** Bound on KDC waits; default 30 s. */
  readonly kdcTimeoutMs?: number;
  /** Told which mechanism Negotiate settled on. */
  readonly onMechanism?: (choice: NegotiateChoice) => void;
  readonly gssapi?: GssapiLoadOptions;
  /** Windows: where to find SSPI (secur32.dll); `functions` stands in for it (tests). */
  readonly sspi?: SspiLoadOptions;
}

/**
 * The authenticator for `-Authentication Kerberos | Negotiate | Default | NegotiateWithImplicitCredential`:
 *
 * - `Kerberos`: kerberosAuth (scheme `Kerberos`), from -Credential's password or the current user's tickets.
 *   Throws before anything is sent when the target is an IP address or localhost (WinRM's own refusals), or when
 *   neither GSSAPI (Unix) nor SSPI (Windows) is available (`KerberosNotAvailable`).
 * - `Default`, `Negotiate`: negotiateWithKerberosAuth: Kerberos when it works, else psremote's NTLM (with
 *   -Credential); without -Credential, the current user's tickets (what PowerShell calls
 *   NegotiateWithImplicitCredential).
 * - `NegotiateWithImplicitCredential`: the same without a credential; with -Credential PowerShell refuses the
 *   combination (NewRunspaceAmbiguousAuthentication), and so does this.
 *
 * The result holds native handles: call `dispose()` when the WsmanClient closes (collection releases them too).
 */
export function integratedAuthenticator(request: IntegratedAuthRequest): DisposableAuthenticator {
  const { mechanism, credential, endpoint } = request;
  if (mechanism === 'NegotiateWithImplicitCredential' && credential)
    throw new PSRemotingError(
      'A Credential cannot be specified when NegotiateWithImplicitCredential is specified.',
      {
        errorId: 'NewRunspaceAmbiguousAuthentication',
        category: 'InvalidOperation',
        targetObject: endpoint.computerName,
      },
    );
  const common = {
    computerName: endpoint.computerName,
    // The SPN host: the host PowerShell connects to (WsmanEndpoint.host), whatever URL the client is given.
    hostname: endpoint.host,
    ...(credential ? { username: credential.userName, password: credential.reveal() } : {}),
    ...(request.noEncryption ? { encryption: 'never' as const } : {}),
    ...(request.includePortInSpn ? { includePortInSpn: true } : {}),
    ...(request.kdcTimeoutMs !== undefined ? { kdcTimeoutMs: request.kdcTimeoutMs } : {}),
    ...(request.gssapi ? { gssapi: request.gssapi } : {}),
    ...(request.sspi ? { sspi: request.sspi } : {}),
  };
  if (mechanism === 'Kerberos') {
    checkTarget(endpoint.host, endpoint.computerName);
    return kerberosAuth({ ...common, scheme: 'Kerberos' });
  }
  return negotiateWithKerberosAuth({
    ...common,
    ...(request.onMechanism ? { onMechanism: request.onMechanism } : {}),
  });
}
