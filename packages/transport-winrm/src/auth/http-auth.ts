import { authError } from './auth-error.ts';

/**
 * The HTTP authentication schemes this layer speaks: RFC 4559 `Negotiate`, bare `NTLM`, and `Kerberos` (WinRM's
 * scheme for bare Kerberos tokens, MS-WSMV 2.2.9.1.2).
 */
export type HttpAuthScheme = 'Negotiate' | 'NTLM' | 'Kerberos';

const MAX_TOKEN_B64 = 0x16000; // 64 KiB of token, base64-encoded

/** `Authorization: <scheme> <base64 token>` (RFC 4559 4.2). */
export function authorizationHeader(scheme: HttpAuthScheme, token: Uint8Array): string {
  return `${scheme} ${Buffer.from(token).toString('base64')}`;
}

export interface AuthChallenge {
  /** As the server spelled it. */
  readonly scheme: string;
  /** The token, when the challenge carried one (absent on the first 401, which only offers the scheme). */
  readonly token?: Uint8Array;
}

/**
 * The challenges in `WWW-Authenticate` header values (RFC 7235 4.1; several headers or one comma-joined line).
 * Only the scheme and a token68 are read; auth-params (Basic's realm="...") are skipped over.
 */
export function parseWwwAuthenticate(values: string | readonly string[] | undefined): AuthChallenge[] {
  const list = values === undefined ? [] : typeof values === 'string' ? [values] : values;
  const out: AuthChallenge[] = [];
  for (const value of list) {
    if (value.length > MAX_TOKEN_B64 * 2)
      throw authError('WinRMAuthTokenInvalid', 'an over-long WWW-Authenticate header');
    parseChallenges(value, out);
  }
  return out;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68 = /[A-Za-z0-9+/._~-]+=*/y;

/** RFC 7235 2.1: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ], challenges comma-separated. */
function parseChallenges(s: string, out: AuthChallenge[]): void {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
    if (i >= s.length) break;
    const scheme = token();
    if (!scheme)
      throw authError('WinRMAuthTokenInvalid', `WWW-Authenticate: unexpected ${JSON.stringify(s[i])}`);
    ws();
    TOKEN68.lastIndex = i;
    const t = TOKEN68.exec(s);
    if (t) {
      const after = i + t[0].length;
      let j = after;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
      if (j >= s.length || s[j] === ',') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t[0]) || t[0].length % 4 !== 0)
          throw authError('WinRMAuthTokenInvalid', `${scheme}: the token is not base64`);
        out.push({ scheme, token: new Uint8Array(Buffer.from(t[0], 'base64')) });
        i = j;
        continue;
      }
    }
    out.push({ scheme });
    // auth-params: name = (token / quoted-string), comma-separated, until a name without "=" (the next scheme).
    for (;;) {
      ws();
      const mark = i;
      const name = token();
      ws();
      if (!name || s[i] !== '=') {
        i = mark;
        break;
      }
      i++;
      ws();
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
        if (i >= s.length)
          throw authError('WinRMAuthTokenInvalid', 'WWW-Authenticate: an unterminated quoted string');
        i++;
      } else token();
      ws();
      if (s[i] !== ',') break;
      i++;
    }
  }
}

/** The server's challenge for `scheme` (case-insensitive), or undefined when it did not offer that scheme. */
export function findChallenge(
  values: string | readonly string[] | undefined,
  scheme: HttpAuthScheme,
): AuthChallenge | undefined {
  return parseWwwAuthenticate(values).find((x) => x.scheme.toLowerCase() === scheme.toLowerCase());
}

/**
 * The token of the server's `scheme` challenge (undefined when the scheme came without one, as on the first 401);
 * `WinRMAuthRejected` when the server did not answer with that scheme at all (a 401 mid-handshake: rejected).
 */
export function challengeToken(
  values: string | readonly string[] | undefined,
  scheme: HttpAuthScheme,
): Uint8Array | undefined {
  const c = findChallenge(values, scheme);
  if (!c) throw authError('WinRMAuthRejected', `the server did not answer with a ${scheme} challenge`);
  return c.token;
}
