import { GssInitiator, type GssMech } from '../gssapi/gss-context.ts';
import { KerberosAuthError } from '../gssapi/gss-errors.ts';
import { type GssapiLoadOptions, loadGssapi } from '../gssapi/gss-ffi.ts';
import { credentialSource, wordGssFailure } from '../kerberos-auth.ts';
import { isIpAddress, isLocalhostName } from '../kerberos-target.ts';
import type { CredsspInner } from './credssp-client.ts';

const KDC_TIMEOUT_MS = 30_000;

/** Kerberos failures after which CredSSP's SPNEGO takes NTLM instead, as Windows' Negotiate package does. */
const FALL_BACK = new Set(['KdcUnreachable', 'PrincipalUnknown', 'TargetUnknown', 'NotConfigured']);

export interface CredsspKerberosOptions {
  readonly username: string;
  readonly password: string;
  /** The remote computer, for error messages. */
  readonly computerName: string;
  readonly kdcTimeoutMs?: number;
  readonly gssapi?: GssapiLoadOptions;
}

/**
 * Kerberos inside CredSSP: SPNEGO narrowed to Kerberos through the system GSSAPI (the credential acquired from the
 * password once, in memory, shared by the lanes), the target `HTTP@<host>`. Returns a factory of one inner context
 * per lane; each factory call already holds the first token, so a failure is known before anything is sent.
 */
export interface KerberosInnerFactory {
  (host: string): Promise<CredsspInner>;
  /** Releases the shared credential (each inner context is its lane's to release). */
  dispose(): void;
}

export function kerberosInnerFactory(options: CredsspKerberosOptions): KerberosInnerFactory {
  const ffi = loadGssapi(options.gssapi);
  const timeoutMs = options.kdcTimeoutMs ?? KDC_TIMEOUT_MS;
  /** The password's credential for one mechanism, acquired on first use (KDC failures worded as Negotiate's). */
  const credentialFor = (mech: GssMech) =>
    credentialSource(
      ffi,
      mech,
      { username: options.username, password: options.password, kdcTimeoutMs: timeoutMs },
      () => options.computerName,
      'Negotiate',
    );
  const source = credentialFor('spnego');
  // Once, before the first SPNEGO context: bare Kerberos gets a service ticket, so a wrong password or an unknown
  // SPN is reported as such (MIT's SPNEGO would only say it found no mechanism), as Negotiate's probe does.
  const probes = new Map<string, Promise<void>>();
  const probe = (host: string): Promise<void> => {
    let p = probes.get(host);
    if (!p) {
      p = (async () => {
        const krb5 = credentialFor('krb5');
        try {
          const ctx = new GssInitiator(ffi, {
            mech: 'krb5',
            credential: await krb5.get(),
            target: { name: `HTTP@${host}`, type: 'hostbasedService' },
            timeoutMs,
          });
          try {
            await ctx.step();
          } finally {
            ctx.dispose();
          }
        } catch (e) {
          throw wordGssFailure(e, options.computerName, 'Negotiate', timeoutMs);
        } finally {
          krb5.dispose();
        }
      })();
      probes.set(host, p);
      // A KDC that did not answer may answer later: forget that failure (never a refused password's).
      p.catch((e: unknown) => {
        if (e instanceof KerberosAuthError && e.failure === 'KdcUnreachable') probes.delete(host);
      });
    }
    return p;
  };
  const factory = async (host: string): Promise<CredsspInner> => {
    await probe(host);
    const gss = new GssInitiator(ffi, {
      mech: 'spnego',
      credential: await source.get(),
      target: { name: `HTTP@${host}`, type: 'hostbasedService' },
      timeoutMs,
    });
    let first: Uint8Array;
    try {
      first = await gss.step();
    } catch (e) {
      gss.dispose();
      throw wordGssFailure(e, options.computerName, 'Negotiate', timeoutMs);
    }
    return {
      mechanism: 'Kerberos',
      initial: async () => first,
      step: async (token) => {
        try {
          return await gss.step(token);
        } catch (e) {
          throw wordGssFailure(e, options.computerName, 'Negotiate', timeoutMs);
        }
      },
      get canSeal() {
        return gss.complete;
      },
      get established() {
        return gss.complete;
      },
      seal: (data) => gss.wrapToken(data),
      unseal: (token) => gss.unwrapToken(token),
      dispose: () => gss.dispose(),
    };
  };
  return Object.assign(factory, { dispose: () => source.dispose() });
}

/** Whether Kerberos is worth trying for this host (Windows never tries it for an IP address or localhost). */
export function kerberosTarget(host: string): boolean {
  return !isIpAddress(host) && !isLocalhostName(host);
}

/** A Kerberos failure that means "use NTLM" rather than "refused". */
export function fallsBackToNtlm(e: unknown): boolean {
  return e instanceof KerberosAuthError && FALL_BACK.has(e.failure);
}
