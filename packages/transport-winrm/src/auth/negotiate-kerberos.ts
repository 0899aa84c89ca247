import type {
  AuthGeneration,
  AuthRequest,
  AuthResponse,
  Lane,
  PreparedRequest,
  WsmanAuthenticator,
} from '../wsman/auth.ts';
import {
  explicitCredentialsRequired,
  GssUnavailableError,
  implicitNeedsKerberos,
  KerberosAuthError,
  type KerberosFailure,
} from './gssapi/gss-errors.ts';
import {
  credentialSource,
  type DisposableAuthenticator,
  gssAuthenticator,
  type KerberosAuthOptions,
  wordGssFailure,
} from './kerberos-auth.ts';
import { bareHost, isIpAddress, isLocalhostName, kerberosTarget } from './kerberos-target.ts';
import { negotiateAuth } from './negotiate-auth.ts';
import { loadSecurityProvider, type SecurityProvider } from './security-context.ts';
import { SPNEGO_SESSION_ENCRYPTED } from './winrm-encryption.ts';

export interface NegotiateWithKerberosOptions extends Omit<KerberosAuthOptions, 'scheme'> {
  /** For the NTLM fallback: this machine's NetBIOS name (AUTHENTICATE.Workstation); default empty. */
  readonly workstation?: string;
  /** Told once which mechanism Negotiate settled on, and why (for logs and tests). */
  readonly onMechanism?: (choice: NegotiateChoice) => void;
}

export interface NegotiateChoice {
  /**
   * `SSPI`: Windows' own Negotiate package decides (Kerberos, else NTLM, with the logon session's credentials when
   * there is no -Credential); psremote does not see which.
   */
  readonly mechanism: 'Kerberos' | 'NTLM' | 'SSPI';
  /** Why not Kerberos: `ip-address`, `localhost`, `no-gssapi`, or the Kerberos failure. */
  readonly reason?: 'ip-address' | 'localhost' | 'no-gssapi' | KerberosFailure;
}

/**
 * Kerberos failures after which Windows' Negotiate package goes on with NTLM (no KDC for the realm, no such service
 * or user, no Kerberos configured here): with an explicit credential so does this authenticator. A refused
 * password, a clock skew or a disabled account end the logon, as they do on Windows.
 */
const FALLS_BACK_TO_NTLM: ReadonlySet<KerberosFailure> = new Set<KerberosFailure>([
  'KdcUnreachable',
  'NotConfigured',
  'TargetUnknown',
  'PrincipalUnknown',
]);

/**
 * `-Authentication Negotiate` / `Default` / `NegotiateWithImplicitCredential` as Windows does them: SPNEGO, Kerberos
 * when it works, else NTLM.
 *
 * Kerberos goes through the platform GSSAPI with SPNEGO narrowed to Kerberos; NTLM is psremote's own (negotiateAuth:
 * TypeScript NTLMv2 in SPNEGO, with sealing), not gss-ntlmssp: gss-ntlmssp is rarely installed on clients, absent
 * from macOS, and needs its own credential files, while our NTLM works everywhere and is proven against it.
 *
 * The choice is made once, before the first request: no Kerberos for an IP address or localhost (Windows does not
 * try it either), nor without the GSSAPI library; otherwise the credential is acquired (from the password, or the
 * current user's ticket cache) and a service ticket requested; if that fails in a way Windows' Negotiate falls
 * back from (FALLS_BACK_TO_NTLM) and there is a password, NTLM. Without a password NTLM is impossible here (no
 * logon session to take it from): the Kerberos failure is the error.
 */
export function negotiateWithKerberosAuth(options: NegotiateWithKerberosOptions): DisposableAuthenticator {
  const explicit = options.username !== undefined && options.password !== undefined;
  let chosen: Promise<WsmanAuthenticator> | undefined;
  let current: WsmanAuthenticator | undefined;
  let disposed = false;

  const tell = (choice: NegotiateChoice) => options.onMechanism?.(choice);

  const ntlm = (reason: NegotiateChoice['reason']): WsmanAuthenticator => {
    tell({ mechanism: 'NTLM', ...(reason ? { reason } : {}) });
    return negotiateAuth({
      username: options.username as string,
      password: options.password as string,
      ...(options.encryption ? { encryption: options.encryption } : {}),
      ...(options.workstation !== undefined ? { workstation: options.workstation } : {}),
    });
  };

  const decide = async (url: URL): Promise<WsmanAuthenticator> => {
    const host = options.hostname ?? bareHost(url.hostname);
    const computerName = options.computerName ?? url.hostname;
    const localhost = isLocalhostName(host);
    if (localhost || isIpAddress(host)) {
      if (!explicit)
        throw explicitCredentialsRequired(
          computerName,
          `Kerberos cannot be used with ${localhost ? 'localhost' : 'an IP address'}.`,
        );
      return ntlm(localhost ? 'localhost' : 'ip-address');
    }
    let provider: SecurityProvider;
    try {
      provider = loadSecurityProvider(options);
    } catch (e) {
      if (e instanceof GssUnavailableError && explicit) return ntlm('no-gssapi');
      throw e;
    }
    const timeoutMs = options.kdcTimeoutMs ?? 30_000;
    if (provider.kind === 'sspi') {
      // SSPI's Negotiate package does SPNEGO and the NTLM fallback itself (as WinRM's client does): no probe.
      tell({ mechanism: 'SSPI' });
      return gssAuthenticator({
        provider,
        scheme: 'Negotiate',
        mech: 'spnego',
        protocol: SPNEGO_SESSION_ENCRYPTED,
        timeoutMs,
        credential: credentialSource(provider, 'spnego', options, () => computerName, 'Negotiate'),
        options,
        setHost: () => undefined,
      });
    }
    // The probe speaks bare Kerberos: an SPNEGO credential hides why Kerberos failed (MIT's SPNEGO acquires for
    // every mechanism it has and reports only that none is left), and the failure decides the fallback.
    const probeCredential = credentialSource(provider, 'krb5', options, () => computerName, 'Negotiate');
    try {
      const cred = await probeCredential.get();
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const t = kerberosTarget(host, {
        ...(options.service !== undefined ? { service: options.service } : {}),
        ...(options.includePortInSpn ? { includePortInSpn: true, port } : {}),
      });
      // A throwaway context: can a service ticket be had?
      const probe = provider.initiator(cred, { mech: 'krb5', target: t, timeoutMs });
      try {
        await probe.step();
      } finally {
        probe.dispose();
      }
    } catch (e) {
      probeCredential.dispose();
      const worded = wordGssFailure(e, computerName, 'Negotiate', timeoutMs);
      if (worded instanceof KerberosAuthError) {
        if (explicit && FALLS_BACK_TO_NTLM.has(worded.failure)) return ntlm(worded.failure);
        if (!explicit) throw implicitNeedsKerberos(computerName, worded);
      }
      throw worded;
    }
    probeCredential.dispose();
    tell({ mechanism: 'Kerberos' });
    const credential = credentialSource(provider, 'spnego', options, () => computerName, 'Negotiate');
    return gssAuthenticator({
      provider,
      scheme: 'Negotiate',
      mech: 'spnego',
      protocol: SPNEGO_SESSION_ENCRYPTED,
      timeoutMs,
      credential,
      options,
      setHost: () => undefined,
    });
  };

  const inner = (url: URL): Promise<WsmanAuthenticator> => {
    if (!chosen) {
      chosen = decide(url).then(
        (a) => {
          // Disposed while deciding: what was decided is released at once, and nothing goes out with it.
          if (disposed) {
            a.dispose?.();
            throw new Error('the authenticator was disposed');
          }
          current = a;
          return a;
        },
        (e: unknown) => {
          chosen = undefined; // the next request decides again (the KDC may be back)
          throw e;
        },
      );
    }
    return chosen;
  };

  return {
    async prepare(req: AuthRequest): Promise<PreparedRequest> {
      return (await inner(req.url)).prepare(req);
    },
    async challenge(res: AuthResponse): Promise<boolean> {
      return current?.challenge ? current.challenge(res) : false;
    },
    async unwrap(res: AuthResponse): Promise<Uint8Array> {
      return current?.unwrap ? current.unwrap(res) : res.body;
    },
    reset(lane: Lane, generation?: AuthGeneration): void {
      current?.reset?.(lane, generation);
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      current?.dispose?.();
    },
  };
}
