import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { challengeToken, findChallenge } from '../src/auth/http-auth.ts';
import { type NegotiateMode, SpnegoNtlm } from '../src/auth/spnego.ts';
import { decryptWinrmBody, encryptWinrmBody } from '../src/auth/winrm-encryption.ts';
import { endpointFromComputerName } from '../src/url/wsman-endpoint.ts';
import type { AuthResponse, Lane, PreparedRequest, WsmanAuthenticator } from '../src/wsman/auth.ts';
import { WsmanClient } from '../src/wsman/client.ts';
import { createShellRequest } from '../src/wsman/envelope.ts';
import { WsmanHttpError, WsmanTransportError } from '../src/wsman/errors.ts';
import { parseResponse, readCreateResponse } from '../src/wsman/responses.ts';
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

/**
 * encryptWinrmBody's body without the tab that starts each MIME header line (`\tContent-Type: ...`, as in
 * MS-WSMV's example and pypsrp): OMI's parser (http/httpauth.c Http_DecryptData) matches `Content-Type:` and
 * `OriginalContent:` at the line start only, and OMI's own client sends them so. The sealed part is left alone.
 */
function untab(body: Uint8Array): Uint8Array {
  const buf = Buffer.from(body);
  const marker = 'application/octet-stream\r\n';
  const end = buf.indexOf(marker, 0, 'latin1') + marker.length;
  const head = buf
    .subarray(0, end)
    .toString('latin1')
    .replace(/\r\n\t/g, '\r\n');
  return new Uint8Array(Buffer.concat([Buffer.from(head, 'latin1'), buf.subarray(end)]));
}

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

/** One HTTP exchange on a raw socket, read until `until` appears (or 10 s): OMI's SPNEGO answer is not valid HTTP. */
function rawExchange(sock: Socket, request: Buffer, until: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      sock.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      if (Buffer.concat(chunks).includes(until, 0, 'latin1')) finish();
    };
    const timer = setTimeout(finish, 10_000);
    sock.on('data', onData);
    sock.write(request);
  });
}

describe.skipIf(!peer)('NTLM with message encryption against OMI (gss-ntlmssp)', () => {
  const clients: WsmanClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });
  const endpoint = endpointFromComputerName({ computerName: peer?.host ?? '', port: peer?.httpPort ?? 0 });
  const session = (mode: NegotiateMode, framing: Framing, password = peer?.password ?? '') => {
    const auth = new TestNegotiate(peer?.user ?? '', password, mode, framing);
    const client = new WsmanClient({
      endpoint,
      auth,
      receiveTimeoutSeconds: 20,
      operationTimeoutSeconds: 30,
    });
    clients.push(client);
    return { auth, pool: new WsmanPool(client) };
  };

  it('raw NTLM under Negotiate, sealed without the tabs: opens a pool and runs a pipeline as psuser, every answer sealed', async () => {
    const { auth, pool } = session('ntlm', 'plain');
    const signal = AbortSignal.timeout(60_000);
    await pool.open(signal);
    const { output } = await pool.run('[Environment]::UserName; 6*7', signal);
    expect(output).toEqual(['psuser', 42]);
    // Each lane is its own connection, authenticated on its own; no answer came back in plaintext.
    expect(auth.log.filter((l) => l.endsWith(': NEGOTIATE')).sort()).toEqual([
      'operation: NEGOTIATE',
      'receive: NEGOTIATE',
    ]);
    const answers = auth.log.filter((l) => / HTTP 200 /.test(l));
    expect(answers.length).toBeGreaterThan(3);
    for (const a of answers)
      expect(a).toContain('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"');
  });

  it('raw NTLM with a wrong password: 401 after AUTHENTICATE', async () => {
    const { auth, pool } = session('ntlm', 'plain', 'not the password');
    const denied = await pool.open(AbortSignal.timeout(30_000)).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(WsmanHttpError);
    expect((denied as WsmanHttpError).status).toBe(401);
    expect(auth.log[2]).toMatch(/^operation: AUTHENTICATE \+ sealed \d+ bytes$/);
    expect(auth.log[3]).toMatch(/^operation: HTTP 401/);
  });

  it('OMI drops the connection on the tab-indented MIME headers of MS-WSMV 2.2.9.1.1 (its parser wants them at the line start)', async () => {
    const { auth, pool } = session('ntlm', 'tab');
    const dropped = await pool.open(AbortSignal.timeout(30_000)).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(WsmanTransportError);
    // Authentication itself went through: the sealed Create was sent with AUTHENTICATE, and no answer came.
    expect(auth.log.some((l) => l.startsWith('operation: AUTHENTICATE + sealed'))).toBe(true);
    expect(auth.log.some((l) => / HTTP 200 /.test(l))).toBe(false);
  });

  it('SPNEGO: the answer to the last leg has no blank line after WWW-Authenticate (OMI bug); read by hand, its mechListMIC verifies and the sealed CreateResponse unseals', async () => {
    const ctx = new SpnegoNtlm(
      { username: peer?.user ?? '', password: peer?.password ?? '' },
      { mode: 'spnego' },
    );
    const sock = connect({ host: peer?.host ?? '', port: peer?.httpPort ?? 0 });
    await new Promise((r) => sock.once('connect', r));
    try {
      const head = (extra: string, length: number) =>
        Buffer.from(
          `POST /wsman?PSVersion=2.0 HTTP/1.1\r\nHost: ${peer?.host}:${peer?.httpPort}\r\n${extra}Content-Length: ${length}\r\n\r\n`,
          'latin1',
        );
      const r1 = (
        await rawExchange(
          sock,
          head(
            `Authorization: Negotiate ${b64(ctx.initialToken())}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n`,
            0,
          ),
          'Content-Length: 0\r\n\r\n',
        )
      ).toString('latin1');
      expect(r1).toMatch(/^HTTP\/1\.1 401 /);
      const challenge = /^WWW-Authenticate: (.*)\r$/im.exec(r1)?.[1];
      const t3 = ctx.step(challengeToken(challenge, 'Negotiate') ?? new Uint8Array(0));
      expect(t3).toBeDefined();

      const pool = new WsmanPool(new WsmanClient({ endpoint, auth: { prepare: () => ({ headers: {} }) } }));
      clients.push(pool.client);
      pool.pool.open();
      const parts: Uint8Array[] = [];
      for (let p = pool.pool.dataToSend(); p; p = pool.pool.dataToSend()) parts.push(p.data);
      const create = createShellRequest(pool.client.context, {
        runspacePoolId: pool.pool.runspacePoolId,
        name: 'Runspace1',
        creationXml: Buffer.concat(parts),
      });
      const sealed = encryptWinrmBody(ctx, new TextEncoder().encode(create.xml));
      const body = untab(sealed.body);
      const raw = await rawExchange(
        sock,
        Buffer.concat([
          head(
            `Authorization: Negotiate ${b64(t3 ?? new Uint8Array(0))}\r\nContent-Type: ${sealed.contentType}\r\n`,
            body.length,
          ),
          body,
        ]),
        '--Encrypted Boundary--\r\n',
      );
      const text = raw.toString('latin1');
      // The header block: status, Content-Length, Connection, Content-Type, WWW-Authenticate, and then straight
      // into the body: OMI's _BuildAuthResponse (case 0, the token that rides on a 200) ends the header without
      // the CRLF that would close the block.
      const auth = /\r\nWWW-Authenticate: Negotiate ([A-Za-z0-9+/=]+)\r\n/.exec(text);
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(auth).not.toBeNull();
      const afterAuth = (auth?.index ?? 0) + (auth?.[0].length ?? 0);
      expect(text.slice(afterAuth, afterAuth + 20)).toBe('--Encrypted Boundary');
      // Read by hand: accept-completed with the server's mechListMIC (verified by SpnegoNtlm), then the body.
      expect(ctx.step(new Uint8Array(Buffer.from(auth?.[1] ?? '', 'base64')))).toBeUndefined();
      expect(ctx.established).toBe(true);
      const contentType = /\r\nContent-Type: (multipart\/encrypted[^\r]*)\r\n/.exec(text)?.[1] ?? '';
      const plain = decryptWinrmBody(ctx, contentType, new Uint8Array(raw.subarray(afterAuth)));
      const created = readCreateResponse(parseResponse(create, 200, new TextDecoder().decode(plain.data)));
      expect(created.shellId).toBe(pool.pool.runspacePoolId.toUpperCase());
    } finally {
      sock.destroy();
    }
  });
});
