import { GssCredential, GssInitiator, type GssMech } from './gssapi/gss-context.ts';
import { type GssapiLoadOptions, type GssFfi, loadGssapi } from './gssapi/gss-ffi.ts';
import type { KerberosTarget } from './kerberos-target.ts';
import { SspiCredential, SspiInitiator } from './sspi/sspi-context.ts';
import { loadSspi, type SspiFfi, type SspiLoadOptions } from './sspi/sspi-ffi.ts';
import type { WinrmSecurityContext } from './winrm-encryption.ts';

/**
 * One client security context of the platform's security library (GSSAPI on Unix, SSPI on Windows), as the WinRM
 * authenticators drive it: step until complete, then seal and unseal in MS-WSMV's header ‖ data form.
 */
export interface SecurityContext extends WinrmSecurityContext {
  /** True once the last step succeeded (mutual authentication, confidentiality and integrity granted). */
  readonly complete: boolean;
  /** One leg: the server's token in (none on the first call), the token to send out (possibly empty). */
  step(input?: Uint8Array): Promise<Uint8Array>;
  /** Releases the native context (collection does it too, later). */
  dispose(): void;
}

/** A credential handle of the platform library. */
export interface SecurityCredential {
  dispose(): void;
}

export interface AcquireOptions {
  /** `krb5`: Kerberos only (SSPI package `Kerberos`); `spnego`: Negotiate (SSPI package `Negotiate`). */
  readonly mech: GssMech;
  /** -Credential's user; with `password` the credential comes from it, else the current user's. */
  readonly userName?: string;
  readonly password?: string;
  readonly timeoutMs: number;
}

export interface InitiatorOptions {
  readonly mech: GssMech;
  readonly target: KerberosTarget;
  /** RFC 5929 application data (`tls-server-end-point:` + hash); absent over HTTP. */
  readonly channelBindings?: Uint8Array;
  readonly timeoutMs: number;
}

/** The security library of this platform, behind one small interface. */
export interface SecurityProvider {
  /**
   * `gssapi`: Kerberos only, NTLM is psremote's own (Negotiate probes Kerberos first). `sspi`: the `Negotiate`
   * package does SPNEGO with its own NTLM fallback, with the logon session's credentials too.
   */
  readonly kind: 'gssapi' | 'sspi';
  /** What was loaded, for messages. */
  readonly library: string;
  acquire(options: AcquireOptions): Promise<SecurityCredential>;
  initiator(credential: SecurityCredential, options: InitiatorOptions): SecurityContext;
}

export interface SecurityProviderOptions {
  /** Where to find the GSSAPI library (Unix). */
  readonly gssapi?: GssapiLoadOptions;
  /** Where to find SSPI (Windows); `functions` stands in for secur32 anywhere (tests). */
  readonly sspi?: SspiLoadOptions;
}

/** A credential from `provider` (GSSAPI, or SSPI on Windows). */
export function acquireCredential(
  provider: SecurityProvider,
  options: AcquireOptions,
): Promise<SecurityCredential> {
  return provider.acquire(options);
}

/** GSSAPI (MIT, Heimdal, GSS.framework) as a SecurityProvider. */
export function gssProvider(ffi: GssFfi): SecurityProvider {
  return {
    kind: 'gssapi',
    library: ffi.library,
    acquire: (o) =>
      GssCredential.acquire(ffi, {
        mech: o.mech,
        ...(o.userName !== undefined ? { userName: o.userName } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        timeoutMs: o.timeoutMs,
      }),
    initiator: (credential, o) =>
      new GssInitiator(ffi, {
        mech: o.mech,
        credential: credential as GssCredential,
        target: { name: o.target.gssName, type: o.target.gssType },
        ...(o.channelBindings ? { channelBindings: o.channelBindings } : {}),
        timeoutMs: o.timeoutMs,
      }),
  };
}

/** SSPI (secur32) as a SecurityProvider: package `Kerberos` for krb5, `Negotiate` for spnego. */
export function sspiProvider(ffi: SspiFfi, decrypt?: 'stream' | 'token'): SecurityProvider {
  return {
    kind: 'sspi',
    library: ffi.library,
    acquire: (o) =>
      SspiCredential.acquire(ffi, {
        package: o.mech === 'krb5' ? 'Kerberos' : 'Negotiate',
        ...(o.userName !== undefined && o.password !== undefined
          ? { userName: o.userName, password: o.password }
          : {}),
        timeoutMs: o.timeoutMs,
      }),
    initiator: (credential, o) =>
      new SspiInitiator(ffi, {
        credential: credential as SspiCredential,
        // SSPI names the target by its SPN (`HTTP/host`, `HTTP/host:port`), not by a GSS host-based name.
        targetName: o.target.spn,
        ...(o.channelBindings ? { channelBindings: o.channelBindings } : {}),
        timeoutMs: o.timeoutMs,
        ...(decrypt ? { decrypt } : {}),
      }),
  };
}

/**
 * The platform's provider: SSPI on Windows (or wherever `sspi.functions` stands in for it), GSSAPI elsewhere.
 * Throws GssUnavailableError (`KerberosNotAvailable`) naming what is missing.
 */
export function loadSecurityProvider(options: SecurityProviderOptions = {}): SecurityProvider {
  if (options.sspi?.functions || process.platform === 'win32')
    return sspiProvider(loadSspi(options.sspi), options.sspi?.decrypt);
  return gssProvider(loadGssapi(options.gssapi));
}
