import {
  type AuthGeneration,
  type AuthRequest,
  type AuthResponse,
  type Lane,
  type PreparedRequest,
  responseHeader,
  type WsmanAuthenticator,
} from '../wsman/auth.ts';
import { WsmanHttpError } from '../wsman/errors.ts';
import { authError } from './auth-error.ts';
import { tlsServerEndPointFromCertificate } from './channel-bindings.ts';
import { refuseOrphanedAnswer, sealedAnswerType } from './encrypted-parts.ts';
import {
  authorizationHeader,
  findChallenge,
  type HttpAuthScheme,
  parseWwwAuthenticate,
} from './http-auth.ts';
import { LaneTable, retryStaleAnswer, sealsBodies } from './lane-table.ts';
import { type NegotiateMode, SpnegoNtlm } from './spnego.ts';
import { decryptWinrmBody, encryptWinrmBody } from './winrm-encryption.ts';

/** Why the server refused us; `AccessDenied` is what WinRM reports for a refused logon. */
export type WsmanAuthErrorReason =
  /** The credentials were refused: a 401 after our AUTHENTICATE, or SPNEGO `reject`. */
  | 'AccessDenied'
  /** The server does not offer the scheme we speak (no `WWW-Authenticate: Negotiate`). */
  | 'SchemeNotOffered';

/**
 * An authentication failure, as an HTTP 401: `describeTransportError` words it as WinRM's "Access is denied."
 * (ERROR_ACCESS_DENIED, FullyQualifiedErrorId `AccessDenied,PSSessionOpenFailed`), as PowerShell shows it.
 */
export class WsmanAuthError extends WsmanHttpError {
  readonly reason: WsmanAuthErrorReason;
  constructor(reason: WsmanAuthErrorReason, message: string, cause?: unknown) {
    super(401, 'Unauthorized');
    this.name = 'WsmanAuthError';
    this.reason = reason;
    this.message = message;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

export interface NegotiateAuthOptions {
  /** `DOMAIN\user`, `user@domain` or `user`. */
  readonly username: string;
  readonly password: string;
  /**
   * The HTTP scheme: `Negotiate` (RFC 4559, what WinRM offers; the default) or `NTLM` (raw NTLMSSP tokens in an
   * `NTLM` header, for servers that offer that scheme).
   */
  readonly scheme?: HttpAuthScheme;
  /** Under `Negotiate`: SPNEGO around NTLM (`spnego`, the default) or bare NTLMSSP tokens (`ntlm`). */
  readonly mode?: NegotiateMode;
  /** This machine's NetBIOS name for AUTHENTICATE.Workstation; default empty. */
  readonly workstation?: string;
  /**
   * The SPN sent as MsvAvTargetName; default `HTTP/<host of the URL>`. A Windows server with Extended Protection
   * checks it against its own names over HTTP (MS-NLMP 3.1.5.1.2; Windows clients always send one).
   */
  readonly targetName?: string;
  /**
   * MS-WSMV 2.2.9.1 message encryption over HTTP: `always` (the default; WinRM's AllowUnencrypted=false refuses
   * anything else) or `never` (PSSessionOption.NoEncryption, for a server with AllowUnencrypted=true). Over HTTPS
   * bodies are never encrypted: TLS protects them, and channel binding ties the logon to the TLS session.
   */
  readonly encryption?: 'always' | 'never';
}

type Stage = 'negotiate-sent' | 'challenged' | 'authenticate-sent' | 'established';

interface LaneState {
  readonly ctx: SpnegoNtlm;
  stage: Stage;
  /** The server's CHALLENGE (from the 401), turned into AUTHENTICATE by the next `prepare`. */
  challenge?: Uint8Array;
  /** Whether this lane's messages are sealed (HTTP with encryption). */
  readonly sealed: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * `-Authentication Negotiate` (and `NTLM`) for WsmanClient: one NTLM context per lane (NTLM authenticates a
 * connection), inside SPNEGO by default.
 *
 * Over HTTP: the NEGOTIATE and AUTHENTICATE legs go with empty bodies (`handshake`), then every body is sealed with
 * `encryptWinrmBody` and every answer unsealed with `decryptWinrmBody`; a plaintext answer is refused. Over HTTPS:
 * plaintext bodies, the envelope riding with AUTHENTICATE, whose NTLMv2 response carries the tls-server-end-point
 * channel binding of the lane's certificate (Extended Protection). MsvAvTargetName is always `HTTP/<host>`.
 *
 * A refused logon is a `WsmanAuthError` (HTTP 401, "Access is denied."). `reset(lane)` (the lane reconnected)
 * forgets the lane's context: the next request authenticates the new connection; a 401 on an established lane (the
 * server dropped the connection's context) does the same once.
 */
export function negotiateAuth(options: NegotiateAuthOptions): WsmanAuthenticator {
  const scheme: HttpAuthScheme = options.scheme ?? 'Negotiate';
  const mode: NegotiateMode = scheme === 'NTLM' ? 'ntlm' : (options.mode ?? 'spnego');
  const lanes = new LaneTable<LaneState>({
    established: (s) => s.stage === 'established',
    release: (s) => s.ctx.dispose(),
  });
  /** `prepared`, tied to the handshake of `state` (see AuthGeneration). */
  const tag = (state: LaneState, prepared: PreparedRequest): PreparedRequest => {
    const generation = lanes.generationOf(state);
    return generation === undefined ? prepared : { ...prepared, generation };
  };

  const start = (lane: Lane, url: URL): LaneState => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const ctx = new SpnegoNtlm(
      { username: options.username, password: options.password },
      {
        mode,
        targetName: options.targetName ?? `HTTP/${host}`,
        ...(options.workstation !== undefined ? { workstation: options.workstation } : {}),
      },
    );
    return lanes.start(lane, { ctx, stage: 'negotiate-sent', sealed: sealsBodies(url, options.encryption) });
  };

  const drop = (lane: Lane) => lanes.drop(lane);

  const refused = (lane: Lane, message: string, cause?: unknown): never => {
    drop(lane);
    throw new WsmanAuthError('AccessDenied', message, cause);
  };

  /** Verifies the server's last SPNEGO token (accept-completed and its mechListMIC) and marks the lane ready. */
  const finish = (lane: Lane, state: LaneState, res: AuthResponse) => {
    const token = findChallenge(responseHeader(res, 'www-authenticate'), scheme)?.token;
    if (token && token.length > 0) state.ctx.step(token);
    else if (mode === 'ntlm') state.ctx.step(EMPTY);
    if (!state.ctx.established) {
      drop(lane);
      throw authError(
        'WinRMAuthTokenInvalid',
        `${scheme}: the server completed the logon without its last token`,
      );
    }
    state.stage = 'established';
    lanes.established(lane, state);
  };

  return {
    async prepare(req: AuthRequest): Promise<PreparedRequest> {
      let state = await lanes.whenFree(req.lane, req.attempt, req.generation);
      if (!state) {
        state = start(req.lane, req.url);
        return tag(state, {
          headers: { authorization: authorizationHeader(scheme, state.ctx.initialToken()) },
          body: EMPTY,
          handshake: true,
        });
      }
      if (state.stage === 'challenged' && state.challenge) {
        const https = req.url.protocol === 'https:';
        if (https && !req.peerCertificate)
          throw authError('WinRMAuthState', `${scheme}: no TLS certificate to bind the logon to`);
        const token = state.ctx.step(
          state.challenge,
          https && req.peerCertificate
            ? { channelBindings: tlsServerEndPointFromCertificate(req.peerCertificate) }
            : {},
        );
        state.challenge = undefined;
        state.stage = 'authenticate-sent';
        if (!token) throw authError('WinRMAuthTokenInvalid', `${scheme}: no AUTHENTICATE token to send`);
        const authorization = authorizationHeader(scheme, token);
        // Over HTTP with sealing nothing may go out in clear: the body waits for the next request.
        if (state.sealed) return tag(state, { headers: { authorization }, body: EMPTY, handshake: true });
        return tag(state, { headers: { authorization } });
      }
      if (state.stage !== 'established')
        throw authError('WinRMAuthState', `${scheme}: a request in handshake stage ${state.stage}`);
      if (!state.sealed) return tag(state, { headers: {} });
      const { contentType, body } = encryptWinrmBody(state.ctx, req.body);
      return tag(state, { headers: { 'content-type': contentType }, body });
    },

    challenge(res: AuthResponse): boolean {
      // The answer of a handshake since replaced: never applied to the lane's current one.
      if (lanes.stale(res.lane, res.generation)) return retryStaleAnswer(res.status);
      const state = lanes.get(res.lane);
      const offered = parseWwwAuthenticate(responseHeader(res, 'www-authenticate'));
      const mine = offered.find((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
      // No state on a 401: the lane reconnected (undici reports the old connection's end just after the next
      // request left on the new one): authenticate the new connection.
      if (!state) return res.status === 401;
      if (res.status !== 401) {
        // The answer to a handshake-only leg (HTTP): after AUTHENTICATE, the logon is complete. Anything else (a
        // redirect, a 500) ends this handshake: the next request starts a new one.
        if (state.stage !== 'authenticate-sent' || res.status < 200 || res.status >= 300) {
          drop(res.lane);
          return false;
        }
        finish(res.lane, state, res);
        return true;
      }
      if (state.stage === 'negotiate-sent') {
        if (!mine) {
          drop(res.lane);
          const names = offered.map((c) => c.scheme).join(', ') || 'none';
          throw new WsmanAuthError(
            'SchemeNotOffered',
            `The server does not offer ${scheme} authentication (it offers: ${names}).`,
          );
        }
        if (!mine.token || mine.token.length === 0)
          return refused(res.lane, `Access is denied. The server did not answer the ${scheme} NEGOTIATE.`);
        state.challenge = mine.token;
        state.stage = 'challenged';
        return true;
      }
      if (state.stage === 'authenticate-sent') {
        // A last SPNEGO token may still say `reject`: let it speak (it throws WinRMAuthRejected).
        if (mine?.token && mine.token.length > 0 && mode === 'spnego') {
          try {
            state.ctx.step(mine.token);
          } catch (e) {
            return refused(res.lane, 'Access is denied.', e);
          }
        }
        return refused(res.lane, 'Access is denied.');
      }
      // Established, and a 401: the server no longer knows this connection (it was replaced). Start over once.
      drop(res.lane);
      return true;
    },

    unwrap(res: AuthResponse): Uint8Array {
      const state = lanes.current(res.lane, res.generation);
      // HTTPS: the envelope went with AUTHENTICATE; this answer carries the server's last token.
      if (state?.stage === 'authenticate-sent' && !state.sealed && res.status !== 401)
        finish(res.lane, state, res);
      if (!state?.sealed || state.stage !== 'established') {
        refuseOrphanedAnswer(res);
        return res.body;
      }
      const contentType = sealedAnswerType(res);
      return contentType === undefined ? res.body : decryptWinrmBody(state.ctx, contentType, res.body).data;
    },

    reset(lane: Lane, generation?: AuthGeneration): void {
      lanes.drop(lane, generation);
    },

    dispose(): void {
      lanes.close();
    },
  };
}
