import { isPSRemotingError } from '@psremote/core';
import {
  type AuthGeneration,
  type AuthRequest,
  type AuthResponse,
  firstHeader,
  type Lane,
  type PreparedRequest,
  responseHeader,
  type WsmanAuthenticator,
} from '../wsman/auth.ts';
import { tlsServerEndPointFromCertificate } from './channel-bindings.ts';
import { refuseOrphanedAnswer } from './encrypted-parts.ts';
import { type GssCredential, type GssMech, GssTimeout } from './gssapi/gss-context.ts';
import {
  GssError,
  KerberosAuthError,
  kdcTimeout,
  kerberosFailure,
  targetNotAllowed,
} from './gssapi/gss-errors.ts';
import type { GssapiLoadOptions, GssFfi } from './gssapi/gss-ffi.ts';
import { authorizationHeader, findChallenge, parseWwwAuthenticate } from './http-auth.ts';
import {
  bareHost,
  isIpAddress,
  isLocalhostName,
  type KerberosTarget,
  kerberosTarget,
} from './kerberos-target.ts';
import { LaneTable, retryStaleAnswer, sealsBodies } from './lane-table.ts';
import { WsmanAuthError } from './negotiate-auth.ts';
import {
  acquireCredential,
  gssProvider,
  loadSecurityProvider,
  type SecurityContext,
  type SecurityCredential,
  type SecurityProvider,
} from './security-context.ts';
import { SspiError, sspiFailure } from './sspi/sspi-errors.ts';
import type { SspiLoadOptions } from './sspi/sspi-ffi.ts';
import {
  decryptWinrmBody,
  encryptWinrmBody,
  KERBEROS_SESSION_ENCRYPTED,
  parseContentType,
  SPNEGO_SESSION_ENCRYPTED,
} from './winrm-encryption.ts';

export interface KerberosAuthOptions {
  /**
   * -Credential's user: `user@REALM`, `DOMAIN\user` (taken as `user@DOMAIN`) or `user` (the default realm). With
   * `password`, a ticket is acquired from the password (no kinit), held in memory only. Absent: the current user's
   * tickets (the ccache or KCM of KRB5CCNAME / krb5.conf, as kinit left them).
   */
  readonly username?: string;
  readonly password?: string;
  /**
   * The HTTP scheme and the GSSAPI mechanism: `Kerberos` (-Authentication Kerberos: bare RFC 4121 tokens, bodies
   * sealed as application/HTTP-Kerberos-session-encrypted) or `Negotiate` (SPNEGO with Kerberos inside,
   * application/HTTP-SPNEGO-session-encrypted). Default `Kerberos`.
   */
  readonly scheme?: 'Kerberos' | 'Negotiate';
  /** The SPN's service; default `HTTP` (what WinRM asks for). */
  readonly service?: string;
  /** The host in the SPN when it is not the URL's (a tunnel, an alias); pypsrp's negotiate_hostname_override. */
  readonly hostname?: string;
  /** PSSessionOption.IncludePortInSPN: `HTTP/host:port`. */
  readonly includePortInSpn?: boolean;
  /** MS-WSMV 2.2.9.1 encryption over HTTP: `always` (default) or `never` (PSSessionOption.NoEncryption). */
  readonly encryption?: 'always' | 'never';
  /** The longest wait for a KDC (ticket requests); default 30 s. The library's own retries run inside it. */
  readonly kdcTimeoutMs?: number;
  /** The name PowerShell shows in messages (WSManConnectionInfo.ComputerName); default the URL's host. */
  readonly computerName?: string;
  /** Where to find the GSSAPI library (tests, a Homebrew MIT on macOS); default the platform's. */
  readonly gssapi?: GssapiLoadOptions;
  /** Windows: where to find SSPI; `functions` stands in for secur32 (tests, on any platform). */
  readonly sspi?: SspiLoadOptions;
}

/** A WsmanAuthenticator that also releases its native handles. */
export interface DisposableAuthenticator extends WsmanAuthenticator {
  /** Releases the credential and every lane's context (collection does it too, later). */
  dispose(): void;
}

type Stage =
  /** HTTPS, before the lane's certificate is known: an empty request to connect (and learn the scheme). */
  | 'probe'
  /** Connected: the next prepare makes the first token. */
  | 'ready'
  /** A token is out; the answer says what next. */
  | 'token-sent'
  /** The server's continue token waits for the next prepare. */
  | 'continue'
  | 'established';

interface LaneState {
  stage: Stage;
  ctx: SecurityContext | undefined;
  serverToken?: Uint8Array;
  readonly sealed: boolean;
}

const EMPTY = new Uint8Array(0);
const DEFAULT_KDC_TIMEOUT_MS = 30_000;

/** A shared, lazily acquired credential (one AS exchange for every lane). */
export interface CredentialSource<C extends SecurityCredential = GssCredential> {
  get(): Promise<C>;
  dispose(): void;
}

/** The credential of `options`, acquired once on first use; errors worded as WinRM's. */
export function credentialSource(
  ffi: GssFfi,
  mech: GssMech,
  options: Pick<KerberosAuthOptions, 'username' | 'password' | 'kdcTimeoutMs'>,
  computerName: () => string,
  pkg: 'Kerberos' | 'Negotiate',
): CredentialSource<GssCredential>;
export function credentialSource(
  provider: SecurityProvider,
  mech: GssMech,
  options: Pick<KerberosAuthOptions, 'username' | 'password' | 'kdcTimeoutMs'>,
  computerName: () => string,
  pkg: 'Kerberos' | 'Negotiate',
): CredentialSource<SecurityCredential>;
export function credentialSource(
  source: GssFfi | SecurityProvider,
  mech: GssMech,
  options: Pick<KerberosAuthOptions, 'username' | 'password' | 'kdcTimeoutMs'>,
  computerName: () => string,
  pkg: 'Kerberos' | 'Negotiate',
): CredentialSource<SecurityCredential> {
  const provider = 'kind' in source ? source : gssProvider(source);
  let pending: Promise<SecurityCredential> | undefined;
  let cred: SecurityCredential | undefined;
  let disposed = false;
  const timeoutMs = options.kdcTimeoutMs ?? DEFAULT_KDC_TIMEOUT_MS;
  return {
    get() {
      if (!pending) {
        pending = acquireCredential(provider, {
          mech,
          ...(options.password !== undefined && options.username !== undefined
            ? { userName: options.username, password: options.password }
            : {}),
          timeoutMs,
        }).then(
          (c) => {
            if (disposed) c.dispose();
            else cred = c;
            return c;
          },
          (e: unknown) => {
            const worded = wordGssFailure(e, computerName(), pkg, timeoutMs);
            // A later request may try again when no KDC answered (it may be back); never after a refused
            // password, which would only count towards the account's lockout.
            if (worded instanceof KerberosAuthError && worded.failure === 'KdcUnreachable')
              pending = undefined;
            throw worded;
          },
        );
      }
      return pending;
    },
    dispose() {
      disposed = true;
      cred?.dispose();
      cred = undefined;
    },
  };
}

/** A GSSAPI failure (or our KDC timeout) as the error PowerShell would show; anything else unchanged. */
export function wordGssFailure(
  e: unknown,
  computerName: string,
  pkg: 'Kerberos' | 'Negotiate',
  timeoutMs: number,
): unknown {
  if (e instanceof GssTimeout) return kdcTimeout(computerName, timeoutMs, pkg);
  if (e instanceof GssError) return kerberosFailure(e, computerName, pkg);
  if (e instanceof SspiError) return sspiFailure(e, computerName, pkg);
  return e;
}

/**
 * `-Authentication Kerberos` (scheme `Kerberos`) or Kerberos-only Negotiate (scheme `Negotiate`, SPNEGO) through the
 * platform GSSAPI, for WsmanClient. One security context per lane (a context authenticates a connection).
 *
 * Over HTTP the token goes with an empty body (`handshake`), the server's last token (AP-REP) is required and
 * checked (mutual authentication), then every body is sealed with gss_wrap_iov (MS-WSMV 2.2.9.1) and every answer
 * unsealed; a plaintext answer is refused. Over HTTPS: a first empty request connects the lane (its certificate is
 * needed for the tls-server-end-point channel binding that goes inside the first Kerberos token), then plaintext
 * bodies, the envelope riding with the token.
 *
 * Refuses before anything goes on the wire, as WinRM does: an IP address (ERROR_WSMAN_KERBEROS_IPADDRESS) and
 * localhost/127.0.0.1/[::1] (ERROR_WSMAN_SERVER_DESTINATION_LOCALHOST) as the SPN host. Throws GssUnavailableError
 * (`KerberosNotAvailable`) when koffi or the library is missing.
 */
export function kerberosAuth(options: KerberosAuthOptions = {}): DisposableAuthenticator {
  const scheme = options.scheme ?? 'Kerberos';
  const mech: GssMech = scheme === 'Kerberos' ? 'krb5' : 'spnego';
  const protocol = scheme === 'Kerberos' ? KERBEROS_SESSION_ENCRYPTED : SPNEGO_SESSION_ENCRYPTED;
  const timeoutMs = options.kdcTimeoutMs ?? DEFAULT_KDC_TIMEOUT_MS;
  const provider = loadSecurityProvider(options);
  let lastHost = options.computerName ?? options.hostname ?? '';
  const computerName = () => options.computerName ?? lastHost;
  if (options.hostname !== undefined) checkTarget(options.hostname, options.computerName ?? options.hostname);
  const credential = credentialSource(provider, mech, options, computerName, scheme);
  return gssAuthenticator({
    provider,
    scheme,
    mech,
    protocol,
    timeoutMs,
    credential,
    options,
    setHost: (h) => {
      lastHost = h;
    },
  });
}

/** ERROR_WSMAN_SERVER_DESTINATION_LOCALHOST / ERROR_WSMAN_KERBEROS_IPADDRESS for an SPN host Kerberos cannot use. */
export function checkTarget(host: string, computerName: string): void {
  if (isLocalhostName(host)) throw targetNotAllowed(computerName, 'localhost');
  if (isIpAddress(host)) throw targetNotAllowed(computerName, 'ip');
}

interface GssAuthenticatorParts {
  readonly provider: SecurityProvider;
  readonly scheme: 'Kerberos' | 'Negotiate';
  readonly mech: GssMech;
  readonly protocol: string;
  readonly timeoutMs: number;
  readonly credential: CredentialSource<SecurityCredential>;
  readonly options: KerberosAuthOptions;
  readonly setHost: (host: string) => void;
}

/** The lane machinery shared by kerberosAuth and Negotiate-with-Kerberos. */
export function gssAuthenticator(parts: GssAuthenticatorParts): DisposableAuthenticator {
  const { provider, scheme, mech, protocol, timeoutMs, credential, options } = parts;
  const lanes = new LaneTable<LaneState>({
    established: (s) => s.stage === 'established',
    release: (s) => s.ctx?.dispose(),
  });
  /** `prepared`, tied to the handshake of `state` (see AuthGeneration). */
  const tag = (state: LaneState, prepared: PreparedRequest): PreparedRequest => {
    const generation = lanes.generationOf(state);
    return generation === undefined ? prepared : { ...prepared, generation };
  };
  let targetFor: KerberosTarget | undefined;
  let computer = options.computerName ?? options.hostname ?? '';

  const target = (url: URL): KerberosTarget => {
    if (!targetFor) {
      const host = options.hostname ?? bareHost(url.hostname);
      computer = options.computerName ?? options.hostname ?? url.hostname;
      parts.setHost(computer);
      checkTarget(host, computer);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      targetFor = kerberosTarget(host, {
        ...(options.service !== undefined ? { service: options.service } : {}),
        ...(options.includePortInSpn ? { includePortInSpn: true, port } : {}),
      });
    }
    return targetFor;
  };

  const start = (lane: Lane, url: URL, stage: Stage): LaneState =>
    lanes.start(lane, { stage, ctx: undefined, sealed: sealsBodies(url, options.encryption) });

  const drop = (lane: Lane) => lanes.drop(lane);

  const fail = (lane: Lane, e: unknown): never => {
    drop(lane);
    throw wordGssFailure(e, computer, scheme, timeoutMs);
  };

  const refused = (lane: Lane, message: string): never => {
    drop(lane);
    throw new WsmanAuthError('AccessDenied', message);
  };

  /** The first token of a new context on this lane. */
  const firstToken = async (lane: Lane, state: LaneState, req: AuthRequest): Promise<Uint8Array> => {
    const t = target(req.url);
    const cred = await credential.get().catch((e: unknown) => {
      drop(lane);
      throw e;
    });
    const https = req.url.protocol === 'https:';
    try {
      state.ctx = provider.initiator(cred, {
        mech,
        target: t,
        ...(https && req.peerCertificate
          ? { channelBindings: tlsServerEndPointFromCertificate(req.peerCertificate) }
          : {}),
        timeoutMs,
      });
      const token = await state.ctx.step();
      // The lane was reset while the credential was acquired: its release found no context; this one goes now (the
      // token still goes out, and its answer, of a dropped handshake, is never applied).
      if (!lanes.holds(lane, state)) state.ctx.dispose();
      return token;
    } catch (e) {
      return fail(lane, e);
    }
  };

  /** The server's last token: completes the context and proves the server (mutual authentication). */
  const finish = async (lane: Lane, state: LaneState, res: AuthResponse) => {
    const token = findChallenge(responseHeader(res, 'www-authenticate'), scheme)?.token;
    const ctx = state.ctx;
    if (!ctx) return fail(lane, new Error('no security context'));
    if (!ctx.complete) {
      if (!token || token.length === 0)
        return fail(
          lane,
          new GssError({
            call: 'gss_init_sec_context',
            major: 0x00060000,
            minor: 0,
            text: 'the server completed the logon without its last token, so it did not prove its identity (mutual authentication)',
          }),
        );
      try {
        // A context that completes here may still hand back a last token (InitializeSecurityContextW documents
        // SEC_E_OK with an output token to send; GSS_S_COMPLETE may carry one too). After the server's 200 no
        // request is left to carry it, and the server has already accepted the logon: it is dropped. What proves
        // the server is that the context is complete with mutual authentication, which step() checked.
        await ctx.step(token);
        if (!ctx.complete)
          throw new GssError({
            call: 'gss_init_sec_context',
            major: 0x00060000,
            minor: 0,
            text: 'the server ended the logon before the security context was complete',
          });
      } catch (e) {
        return fail(lane, e);
      }
    }
    state.stage = 'established';
    lanes.established(lane, state);
  };

  const authorization = (token: Uint8Array) => authorizationHeader(scheme, token);

  return {
    async prepare(req: AuthRequest): Promise<PreparedRequest> {
      let state = await lanes.whenFree(req.lane, req.attempt, req.generation);
      const https = req.url.protocol === 'https:';
      if (!state) {
        target(req.url); // refuse an IP or localhost before anything goes out
        if (https && !req.peerCertificate) {
          // The channel binding goes inside the first Kerberos token: connect first (an empty, unauthenticated
          // request; its 401 names the schemes).
          return tag(start(req.lane, req.url, 'probe'), { headers: {}, body: EMPTY, handshake: true });
        }
        state = start(req.lane, req.url, 'ready');
      }
      if (state.stage === 'ready') {
        if (https && !req.peerCertificate) {
          state.stage = 'probe';
          return tag(state, { headers: {}, body: EMPTY, handshake: true });
        }
        const token = await firstToken(req.lane, state, req);
        state.stage = 'token-sent';
        // Over HTTP with sealing nothing may go out in clear: the body waits for the context.
        if (state.sealed)
          return tag(state, {
            headers: { authorization: authorization(token) },
            body: EMPTY,
            handshake: true,
          });
        return tag(state, { headers: { authorization: authorization(token) } });
      }
      if (state.stage === 'continue' && state.ctx && state.serverToken) {
        const input = state.serverToken;
        state.serverToken = undefined;
        let token: Uint8Array;
        try {
          token = await state.ctx.step(input);
        } catch (e) {
          return fail(req.lane, e);
        }
        state.stage = 'token-sent';
        if (state.sealed)
          return tag(state, {
            headers: { authorization: authorization(token) },
            body: EMPTY,
            handshake: true,
          });
        return tag(state, { headers: { authorization: authorization(token) } });
      }
      if (state.stage !== 'established')
        throw new WsmanAuthError('AccessDenied', `${scheme}: a request in handshake stage ${state.stage}`);
      if (!state.sealed) return tag(state, { headers: {} });
      let sealed: { contentType: string; body: Uint8Array };
      try {
        sealed = encryptWinrmBody(state.ctx as SecurityContext, req.body, protocol);
      } catch (e) {
        // EncryptMessage/gss_wrap refused (SEC_E_CONTEXT_EXPIRED, a released context): worded as WinRM does, and
        // the lane starts a new logon on its next request.
        if (isPSRemotingError(e)) throw e;
        return fail(req.lane, e);
      }
      return tag(state, { headers: { 'content-type': sealed.contentType }, body: sealed.body });
    },

    async challenge(res: AuthResponse): Promise<boolean> {
      // The answer of a handshake since replaced: never applied to the lane's current one.
      if (lanes.stale(res.lane, res.generation)) return retryStaleAnswer(res.status);
      const state = lanes.get(res.lane);
      const offered = parseWwwAuthenticate(responseHeader(res, 'www-authenticate'));
      const mine = offered.find((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
      if (!state) return res.status === 401;
      if (state.stage === 'probe') {
        if (res.status !== 401) {
          // The server let an unauthenticated request through: nothing to bind to; authenticate anyway.
          state.stage = 'ready';
          return true;
        }
        if (!mine) {
          drop(res.lane);
          const names = offered.map((c) => c.scheme).join(', ') || 'none';
          throw new WsmanAuthError(
            'SchemeNotOffered',
            `The server does not offer ${scheme} authentication (it offers: ${names}).`,
          );
        }
        state.stage = 'ready';
        return true;
      }
      if (res.status !== 401) {
        // The answer to a handshake-only leg over HTTP: the logon is complete (its last token must prove the server).
        if (state.stage !== 'token-sent' || res.status < 200 || res.status >= 300) {
          drop(res.lane);
          return false;
        }
        await finish(res.lane, state, res);
        return true;
      }
      if (state.stage === 'token-sent') {
        if (mine?.token && mine.token.length > 0 && state.ctx && !state.ctx.complete) {
          // More legs (SPNEGO may ask): the next prepare answers.
          state.serverToken = mine.token;
          state.stage = 'continue';
          return true;
        }
        if (!mine) {
          const names = offered.map((c) => c.scheme).join(', ') || 'none';
          drop(res.lane);
          throw new WsmanAuthError(
            'SchemeNotOffered',
            `The server does not offer ${scheme} authentication (it offers: ${names}).`,
          );
        }
        return refused(res.lane, 'Access is denied.');
      }
      // Established, and a 401: the server no longer knows this connection. Start over once.
      drop(res.lane);
      return true;
    },

    async unwrap(res: AuthResponse): Promise<Uint8Array> {
      const state = lanes.current(res.lane, res.generation);
      // HTTPS: the envelope went with the token; this answer carries the server's last token.
      if (state?.stage === 'token-sent' && !state.sealed && res.status !== 401)
        await finish(res.lane, state, res);
      if (!state?.sealed || state.stage !== 'established') {
        refuseOrphanedAnswer(res);
        return res.body;
      }
      const contentType = firstHeader(res, 'content-type');
      const type = parseContentType(contentType).type;
      if (type === 'multipart/encrypted' || type === 'multipart/x-multi-encrypted') {
        try {
          return decryptWinrmBody(state.ctx as SecurityContext, contentType, res.body, protocol).data;
        } catch (e) {
          if (isPSRemotingError(e)) throw e;
          throw wordGssFailure(e, computer, scheme, timeoutMs);
        }
      }
      if (res.body.length === 0) return res.body;
      throw new KerberosAuthError({
        failure: 'Other',
        errorCode: 0x80090304 | 0,
        transportMessage: `The server answered HTTP ${res.status} in plaintext (${type || 'no Content-Type'}) on an encrypted connection.`,
        computerName: computer,
      });
    },

    reset(lane: Lane, generation?: AuthGeneration): void {
      lanes.drop(lane, generation);
    },

    dispose(): void {
      lanes.close();
      credential.dispose();
    },
  };
}
