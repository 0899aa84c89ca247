import { isPSRemotingError } from '@psremote/core';
import {
  type AuthGeneration,
  type AuthRequest,
  type AuthResponse,
  type Lane,
  type PreparedRequest,
  responseHeader,
  type WsmanAuthenticator,
} from '../../wsman/auth.ts';
import { authError } from '../auth-error.ts';
import { refuseOrphanedAnswer, sealedAnswerType } from '../encrypted-parts.ts';
import { parseWwwAuthenticate } from '../http-auth.ts';
import { gssapiStatus } from '../integrated-auth.ts';
import { LaneTable, retryStaleAnswer, sealsBodies } from '../lane-table.ts';
import { WsmanAuthError } from '../negotiate-auth.ts';
import {
  CredsspClient,
  type CredsspInner,
  CredsspRejected,
  CredsspVersionRefused,
  ntlmInner,
} from './credssp-client.ts';
import { decryptCredsspBody, encryptCredsspBody } from './credssp-encryption.ts';
import {
  fallsBackToNtlm,
  type KerberosInnerFactory,
  kerberosInnerFactory,
  kerberosTarget,
} from './credssp-kerberos.ts';
import {
  DEFAULT_ENCRYPTION_ORACLE,
  type EncryptionOracle,
  lowestServerVersion,
  serverVersionRefused,
} from './encryption-oracle.ts';

export interface CredsspAuthOptions {
  /** `DOMAIN\user`, `user@domain` or `user`. */
  readonly username: string;
  readonly password: string;
  /** MS-WSMV message encryption over HTTP (the default), or none (PSSessionOption.NoEncryption). */
  readonly encryption?: 'always' | 'never';
  /** The highest CredSSP version to offer (2..6); default 6. */
  readonly maxVersion?: number;
  /**
   * Windows' Encryption Oracle Remediation policy, as a client applies it: `Mitigated` (the default) and
   * `ForceUpdatedClients` refuse a server without the CVE-2018-0886 fix (CredSSP version 2-4), `Vulnerable` falls
   * back to it. The CLI takes it from PSREMOTE_CREDSSP_ENCRYPTION_ORACLE.
   */
  readonly encryptionOracle?: EncryptionOracle;
  /**
   * The authentication inside: `auto` (the default) is Kerberos through the system GSSAPI when it loads and the
   * host is a name (not an IP address, not localhost), NTLM when Kerberos cannot be had (no KDC, unknown realm,
   * user or SPN), as Windows' Negotiate package chooses; `ntlm` or `kerberos` force one.
   */
  readonly inner?: 'auto' | 'ntlm' | 'kerberos';
  /** The host of the Kerberos SPN (`HTTP@<hostname>`); default the URL's host. */
  readonly hostname?: string;
  /** Bound on each call that may wait for the KDC; default 30 s. */
  readonly kdcTimeoutMs?: number;
}

const SCHEME = 'CredSSP';
const EMPTY = new Uint8Array(0);

interface LaneState {
  readonly client: CredsspClient;
  /** The URL's host, for messages. */
  readonly host: string;
  /** The bytes for the next Authorization header (after a 401 leg). */
  next?: Uint8Array;
  established: boolean;
  readonly sealed: boolean;
}

function authorization(token: Uint8Array): string {
  return `${SCHEME} ${Buffer.from(token).toString('base64')}`;
}

/**
 * `-Authentication Credssp` for WsmanClient: one CredSSP exchange per lane (connection), every leg an empty-bodied
 * request carrying TLS records in `Authorization: CredSSP`, answered by 401s until the credentials are delegated
 * (the server then answers 200). Over HTTP each body is then encrypted with the CredSSP TLS channel
 * (`application/HTTP-CredSSP-session-encrypted`, 16 KiB parts); over HTTPS the outer TLS protects them.
 *
 * A refused logon (a 401 without a token, or a TSRequest errorCode) is a `WsmanAuthError` ("Access is denied.");
 * a pubKeyAuth that does not match the inner TLS certificate is a `WinRMMessageIntegrity` error.
 */
export function credsspAuth(options: CredsspAuthOptions): WsmanAuthenticator & { dispose(): void } {
  const lanes = new LaneTable<LaneState>({
    established: (s) => s.established,
    release: (s) => s.client.dispose(),
  });
  /** `prepared`, tied to the handshake of `state` (see AuthGeneration). */
  const tag = (state: LaneState, prepared: PreparedRequest): PreparedRequest => {
    const generation = lanes.generationOf(state);
    return generation === undefined ? prepared : { ...prepared, generation };
  };
  const mode = options.inner ?? 'auto';
  const policy = options.encryptionOracle ?? DEFAULT_ENCRYPTION_ORACLE;
  let kerberos: KerberosInnerFactory | undefined;

  /** The inner context for a lane whose URL host is `host` (made after the lane's TLS handshake). */
  const innerFor = (host: string) => async (): Promise<CredsspInner> => {
    const ntlm = () => ntlmInner(options.username, options.password, `HTTP/${host}`);
    const spnHost = options.hostname ?? host;
    const tryKerberos =
      mode === 'kerberos' || (mode === 'auto' && kerberosTarget(spnHost) && gssapiStatus().available);
    if (!tryKerberos) return ntlm();
    try {
      kerberos ??= kerberosInnerFactory({
        username: options.username,
        password: options.password,
        computerName: host,
        ...(options.kdcTimeoutMs ? { kdcTimeoutMs: options.kdcTimeoutMs } : {}),
      });
      return await kerberos(spnHost);
    } catch (e) {
      if (mode === 'auto' && fallsBackToNtlm(e)) return ntlm();
      throw e;
    }
  };

  const start = (lane: Lane, url: URL): LaneState => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const client = new CredsspClient({
      username: options.username,
      password: options.password,
      targetName: `HTTP/${host}`,
      ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
      minVersion: lowestServerVersion(policy),
      inner: innerFor(host),
      ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
    });
    return lanes.start(lane, {
      client,
      host,
      established: false,
      sealed: sealsBodies(url, options.encryption),
    });
  };

  const drop = (lane: Lane) => lanes.drop(lane);

  const refused = (lane: Lane, message: string, cause?: unknown): never => {
    drop(lane);
    throw new WsmanAuthError('AccessDenied', message, cause);
  };

  return {
    async prepare(req: AuthRequest): Promise<PreparedRequest> {
      let state = await lanes.whenFree(req.lane, req.attempt, req.generation);
      if (!state) {
        state = start(req.lane, req.url);
        const first = await state.client.step();
        return tag(state, { headers: { authorization: authorization(first) }, body: EMPTY, handshake: true });
      }
      if (!state.established) {
        const next = state.next;
        state.next = undefined;
        if (!next) throw authError('WinRMAuthState', 'CredSSP: a request between two legs');
        return tag(state, { headers: { authorization: authorization(next) }, body: EMPTY, handshake: true });
      }
      if (!state.sealed) return tag(state, { headers: {} });
      const { contentType, body } = await encryptCredsspBody(state.client.tls, req.body);
      return tag(state, { headers: { 'content-type': contentType }, body });
    },

    async challenge(res: AuthResponse): Promise<boolean> {
      // The answer of a handshake since replaced: never applied to the lane's current one.
      if (lanes.stale(res.lane, res.generation)) return retryStaleAnswer(res.status);
      const state = lanes.get(res.lane);
      if (!state) return res.status === 401;
      if (state.established) {
        // The server forgot this connection's context (it was replaced): start over once.
        drop(res.lane);
        return res.status === 401;
      }
      if (res.status !== 401) {
        if (state.client.delegated && res.status >= 200 && res.status < 300) {
          state.established = true;
          lanes.established(res.lane, state);
          return true;
        }
        drop(res.lane);
        // A success before the credentials went out skips the binding: the server never saw the request (every
        // leg's body is empty), so its answer is not one, and the session must not go on unauthenticated.
        if (res.status >= 200 && res.status < 300)
          throw authError(
            'WinRMAuthTokenInvalid',
            `CredSSP: the server answered HTTP ${res.status} before the exchange completed`,
          );
        return false;
      }
      const offered = parseWwwAuthenticate(responseHeader(res, 'www-authenticate'));
      const mine = offered.find((c) => c.scheme.toLowerCase() === SCHEME.toLowerCase());
      if (!mine) {
        drop(res.lane);
        if (state.client.version === 0 && !state.client.tls.secure)
          throw new WsmanAuthError(
            'SchemeNotOffered',
            `The server does not offer CredSSP authentication (it offers: ${offered.map((c) => c.scheme).join(', ') || 'none'}).`,
          );
        return refused(res.lane, 'Access is denied.');
      }
      if (!mine.token || mine.token.length === 0) return refused(res.lane, 'Access is denied.');
      try {
        state.next = await state.client.step(mine.token);
      } catch (e) {
        if (e instanceof CredsspRejected)
          return refused(res.lane, `Access is denied. (CredSSP: ${e.message})`, e);
        drop(res.lane);
        if (e instanceof CredsspVersionRefused)
          throw serverVersionRefused(state.host, e.serverVersion, policy, e);
        if (isPSRemotingError(e) && e.errorId === 'WinRMAuthRejected')
          throw new WsmanAuthError('AccessDenied', 'Access is denied.', e);
        throw e;
      }
      return true;
    },

    async unwrap(res: AuthResponse): Promise<Uint8Array> {
      const state = lanes.current(res.lane, res.generation);
      if (!state?.sealed || !state.established) {
        refuseOrphanedAnswer(res);
        return res.body;
      }
      const contentType = sealedAnswerType(res);
      if (contentType === undefined) return res.body;
      return (await decryptCredsspBody(state.client.tls, contentType, res.body)).data;
    },

    reset(lane: Lane, generation?: AuthGeneration): void {
      lanes.drop(lane, generation);
    },

    /** Every lane's TLS pipe and inner context, then the Kerberos credential the lanes shared. */
    dispose(): void {
      lanes.close();
      kerberos?.dispose();
    },
  };
}
