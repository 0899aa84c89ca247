import { afterAll, describe, expect, inject, it } from 'vitest';
import { challengeToken, findChallenge } from '../src/auth/http-auth.ts';
import { type NegotiateMode, SpnegoNtlm } from '../src/auth/spnego.ts';
import { decryptWinrmBody, encryptWinrmBody } from '../src/auth/winrm-encryption.ts';
import { endpointFromComputerName } from '../src/url/wsman-endpoint.ts';
import type { AuthResponse, Lane, PreparedRequest, WsmanAuthenticator } from '../src/wsman/auth.ts';
import { WsmanClient } from '../src/wsman/client.ts';
import { WsmanPool } from './peer/wsman-pool.ts';

/**
 * NTLM with message encryption against OMI (test/peer/OMI-NOTES.md has what was seen). OMI's Negotiate path is
 * MIT GSSAPI with gss-ntlmssp (the credentials file of the build) and OMI's own multipart/encrypted code
 * (http/httpauth.c Http_DecryptData / Http_EncryptData). Our side is src/auth (SpnegoNtlm, encryptWinrmBody,
 * decryptWinrmBody) behind the minimal authenticator below; the real one is written in src/auth elsewhere.
 */
const peer = inject('omiPeer');
if (!peer) console.warn(`[transport-winrm] OMI NTLM tests skip: ${inject('omiPeerMissing')}`);

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const header = (h: AuthResponse['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** MS-WSMV 2.2.9.1 framing variants: `tab` as the spec's example and Windows; `plain` without the leading tabs. */
type Framing = 'tab' | 'plain';

/**
 * Negotiate (SPNEGO or raw NTLM) on each lane (one TCP connection each): the first request carries the NEGOTIATE
 * token and no body, the second the AUTHENTICATE token and the sealed envelope, later ones only the sealed
 * envelope; answers are unsealed. `log` records each leg for the notes.
 */
class TestNegotiate implements WsmanAuthenticator {
  readonly log: string[] = [];
  private readonly lanes = new Map<Lane, { ctx: SpnegoNtlm; next?: Uint8Array | undefined }>();

  private readonly user: string;
  private readonly password: string;
  private readonly mode: NegotiateMode;
  private readonly framing: Framing;

  constructor(user: string, password: string, mode: NegotiateMode, framing: Framing) {
    this.user = user;
    this.password = password;
    this.mode = mode;
    this.framing = framing;
  }

  prepare(req: { lane: Lane; body: Uint8Array; attempt: number }): PreparedRequest {
    let st = this.lanes.get(req.lane);
    if (!st) {
      st = { ctx: new SpnegoNtlm({ username: this.user, password: this.password }, { mode: this.mode }) };
      this.lanes.set(req.lane, st);
      this.log.push(`${req.lane}: NEGOTIATE`);
      // No body with the first leg: nothing to seal it with yet.
      return {
        headers: { authorization: `Negotiate ${b64(st.ctx.initialToken())}` },
        body: new Uint8Array(0),
      };
    }
    const sealed = this.seal(st.ctx, req.body);
    if (st.next) {
      const token = st.next;
      st.next = undefined;
      this.log.push(`${req.lane}: AUTHENTICATE + sealed ${req.body.length} bytes`);
      return {
        headers: { authorization: `Negotiate ${b64(token)}`, 'content-type': sealed.contentType },
        body: sealed.body,
      };
    }
    this.log.push(`${req.lane}: sealed ${req.body.length} bytes`);
    return { headers: { 'content-type': sealed.contentType }, body: sealed.body };
  }

  challenge(res: AuthResponse): boolean {
    const st = this.lanes.get(res.lane);
    const token = challengeToken(res.headers['www-authenticate'], 'Negotiate');
    this.log.push(`${res.lane}: HTTP 401, ${token ? `a ${token.length}-byte token` : 'no token'}`);
    if (!st || !token || st.ctx.complete) return false;
    st.next = st.ctx.step(token);
    return st.next !== undefined;
  }

  unwrap(res: AuthResponse): Uint8Array {
    const st = this.lanes.get(res.lane);
    const ct = header(res.headers, 'content-type') ?? '';
    this.log.push(`${res.lane}: HTTP ${res.status} ${ct} ${res.body.length} bytes`);
    if (!st) return res.body;
    // SPNEGO's last token (accept-completed, the server's mechListMIC) rides on the first answer.
    const last = findChallenge(res.headers['www-authenticate'], 'Negotiate')?.token;
    if (last && !st.ctx.established) st.ctx.step(last);
    if (!ct.toLowerCase().startsWith('multipart/')) return res.body;
    return decryptWinrmBody(st.ctx, ct, res.body).data;
  }

  reset(lane: Lane): void {
    this.lanes.delete(lane);
  }

  private seal(ctx: SpnegoNtlm, soap: Uint8Array) {
    const sealed = encryptWinrmBody(ctx, soap);
    if (this.framing === 'tab') return sealed;
    // The same bytes with the tab after each CRLF of the MIME headers removed (the sealed part is left alone).
    const buf = Buffer.from(sealed.body);
    const octet =
      buf.indexOf('application/octet-stream\r\n', 0, 'latin1') + 'application/octet-stream\r\n'.length;
    const head = buf
      .subarray(0, octet)
      .toString('latin1')
      .replace(/\r\n\t/g, '\r\n')
      .replace(/^\t/, '');
    return {
      contentType: sealed.contentType,
      body: new Uint8Array(Buffer.concat([Buffer.from(head, 'latin1'), buf.subarray(octet)])),
    };
  }
}

describe.skipIf(!peer)('NTLM with message encryption against OMI (gss-ntlmssp)', () => {
  const clients: WsmanClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });
  const session = (mode: NegotiateMode, framing: Framing, user = peer?.user ?? '') => {
    const auth = new TestNegotiate(user, peer?.password ?? '', mode, framing);
    const endpoint = endpointFromComputerName({ computerName: peer?.host ?? '', port: peer?.httpPort ?? 0 });
    const client = new WsmanClient({
      endpoint,
      auth,
      receiveTimeoutSeconds: 20,
      operationTimeoutSeconds: 30,
    });
    clients.push(client);
    return { auth, pool: new WsmanPool(client) };
  };

  for (const mode of ['spnego', 'ntlm'] as const)
    for (const framing of ['tab', 'plain'] as const)
      it(`${mode}, ${framing} framing: opens a pool and runs a pipeline`, async () => {
        const { auth, pool } = session(mode, framing);
        const signal = AbortSignal.timeout(60_000);
        const outcome = await pool.open(signal).then(
          async () => (await pool.run('[Environment]::UserName; 6*7', signal)).output,
          (e: unknown) => e,
        );
        console.log(
          `[transport-winrm] OMI ${mode}/${framing}: ${auth.log.join(' | ')} => ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : JSON.stringify(outcome)}`,
        );
        expect(outcome).toEqual(['psuser', 42]);
      });
});
