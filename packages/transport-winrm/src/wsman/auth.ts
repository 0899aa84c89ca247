/**
 * The authentication hook of WsmanClient. Basic is here; NTLM/SPNEGO/Kerberos with message encryption plug in
 * through the same interface (`src/auth/**`): they keep one context per lane (connection), answer 401 challenges
 * by asking for a retry, wrap the SOAP body on the way out and unwrap the `multipart/encrypted` answer.
 */

/** The two long-lived connections: operations, and the long-poll Receive (plus any extra lanes a caller names). */
export type Lane = string;

export interface AuthRequest {
  readonly lane: Lane;
  readonly url: URL;
  /** The plaintext SOAP envelope, UTF-8. */
  readonly body: Uint8Array;
  /** 0 for the first attempt, 1.. after each 401 the authenticator asked to retry. */
  readonly attempt: number;
  /**
   * The DER certificate of the lane's TLS peer, once the lane has connected over HTTPS (for channel binding,
   * RFC 5929 tls-server-end-point). Absent over HTTP and before the lane's first connection.
   */
  readonly peerCertificate?: Uint8Array;
  /**
   * The `generation` of the request's previous leg (absent on its first attempt): the handshake this attempt
   * continues. An authenticator whose lane has started another handshake since treats it as a first attempt.
   */
  readonly generation?: AuthGeneration;
}

/**
 * Opaque to WsmanClient: which handshake of its lane an authenticator used for a request. `prepare` returns it, and
 * the client hands it back with that request's answer (`AuthResponse.generation`) and next attempt, so an answer
 * that belongs to a handshake since replaced (a late 401, a token, a sealed body) is never applied to the new one.
 */
export type AuthGeneration = number;

export interface PreparedRequest {
  /** Authorization and, when the body is transformed, its Content-Type. */
  readonly headers: Readonly<Record<string, string>>;
  /** What goes on the wire; absent: the plaintext envelope. */
  readonly body?: Uint8Array;
  /**
   * The request carries only an authentication token (an empty body, so nothing goes out before it can be
   * encrypted): whatever the status, its response goes to `challenge`, and the request is sent again when that
   * returns true. pypsrp and pywinrm finish NTLM this way before the first encrypted message.
   */
  readonly handshake?: boolean;
  /** The lane handshake this request belongs to (see AuthGeneration); absent for a stateless scheme. */
  readonly generation?: AuthGeneration;
}

export interface AuthResponse {
  readonly lane: Lane;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
  /**
   * The request's body went out as the authenticator prepared it (sealed), not as a handshake leg: its answer must
   * come sealed by the same context, even if the lane's context was dropped or replaced while it was in flight.
   */
  readonly requestSealed?: boolean;
  /**
   * The `generation` prepare gave the request this answers. An authenticator applies the answer only to that
   * handshake; absent (a caller that does not track it): the lane's current one.
   */
  readonly generation?: AuthGeneration;
}

/** A response header, its name in any case (undici spells names in lower case; a test may not). */
export function responseHeader(res: AuthResponse, name: string): string | string[] | undefined {
  const lower = name.toLowerCase();
  if (Object.hasOwn(res.headers, lower)) return res.headers[lower];
  for (const key of Object.keys(res.headers)) if (key.toLowerCase() === lower) return res.headers[key];
  return undefined;
}

/** A response header's first value, or `''`. */
export function firstHeader(res: AuthResponse, name: string): string {
  const v = responseHeader(res, name);
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

export interface WsmanAuthenticator {
  /** Headers (and possibly a wrapped body) for one request. */
  prepare(req: AuthRequest): PreparedRequest | Promise<PreparedRequest>;
  /** A 401 came back: true to send the request again (the next `prepare` continues a handshake). */
  challenge?(res: AuthResponse): boolean | Promise<boolean>;
  /** The response body as plaintext SOAP (message decryption); absent: the body as received. */
  unwrap?(res: AuthResponse): Uint8Array | Promise<Uint8Array>;
  /**
   * The lane's connection was replaced (a new TCP connection needs a new handshake), or its handshake failed. With
   * `generation`: only if the lane's handshake is still that one (a newer one is left alone).
   */
  reset?(lane: Lane, generation?: AuthGeneration): void;
  /**
   * Releases everything the authenticator holds (native security contexts and credentials, CredSSP's TLS pipes,
   * session keys): WsmanClient calls it once, when it closes. Idempotent; nothing works after it.
   */
  dispose?(): void;
}

/**
 * HTTP Basic (RFC 7617, UTF-8). WinRM accepts it only over HTTPS, or over HTTP with AllowUnencrypted=true
 * (`research/protocols.md` 4.4); OMI's test server accepts it over HTTP.
 */
export function basicAuth(userName: string, password: string): WsmanAuthenticator {
  const value = `Basic ${Buffer.from(`${userName}:${password}`, 'utf8').toString('base64')}`;
  return { prepare: () => ({ headers: { authorization: value } }) };
}
