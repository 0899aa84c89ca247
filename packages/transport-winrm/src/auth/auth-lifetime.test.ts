import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointFromConnectionUri, type WsmanEndpoint } from '../url/wsman-endpoint.ts';
import { WinrmConnection } from '../winrm-connection.ts';
import type { AuthResponse, Lane, WsmanAuthenticator } from '../wsman/auth.ts';
import { WsmanClient } from '../wsman/client.ts';
import { WsmanTransportError } from '../wsman/errors.ts';
import { NS } from '../wsman/namespaces.ts';
import { credsspAuth } from './credssp/credssp-auth.ts';
import { type CredentialSource, gssAuthenticator } from './kerberos-auth.ts';
import { LaneTable } from './lane-table.ts';
import { negotiateAuth } from './negotiate-auth.ts';
import { NtlmContext } from './ntlm-context.ts';
import { Rc4 } from './rc4.ts';
import type { SecurityContext, SecurityCredential, SecurityProvider } from './security-context.ts';
import { windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';
import { KERBEROS_SESSION_ENCRYPTED } from './winrm-encryption.ts';

// ---- a local HTTP server standing in for WinRM (no peer: the authenticators under test are fakes or local) ----

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_q, _b, res) => res.end();
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => handler(req, Buffer.concat(parts).toString('utf8'), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const messageIdOf = (body: string) => /<wsa:MessageID>([^<]+)</.exec(body)?.[1] ?? '';
const reply = (action: string, relatesTo: string, body: string) =>
  `<S:Envelope xmlns:S="${NS.soap}" xmlns:A="${NS.addressing}" xmlns:R="${NS.shell}"><S:Header><A:Action>${action}</A:Action>` +
  `<A:RelatesTo>${relatesTo}</A:RelatesTo></S:Header><S:Body>${body}</S:Body></S:Envelope>`;
const fault = (relatesTo: string, code: number, message: string) =>
  `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:w="${NS.wsman}"><s:Header>` +
  `<a:Action>${NS.addressing}/fault</a:Action><a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header><s:Body><s:Fault>` +
  `<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError</s:Value></s:Subcode></s:Code>` +
  `<s:Reason><s:Text xml:lang="en-US">reason</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="${NS.wsmanFault}" Code="${code}" Machine="m">` +
  `<f:Message>${message}</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`;
const created = (body: string) =>
  reply(
    `${NS.transfer}/CreateResponse`,
    messageIdOf(body),
    '<R:Shell><R:ShellId>S1</R:ShellId><R:ResourceUri>http://x</R:ResourceUri></R:Shell>',
  );

const endpoint = (path = '/wsman') =>
  endpointFromConnectionUri({ connectionUri: `http://127.0.0.1:${port}${path}` });
const signal = () => AbortSignal.timeout(10_000);

/** A Basic-like authenticator that counts what the client asks of it. */
function counting() {
  const calls = { prepare: 0, dispose: 0, resets: [] as Lane[] };
  const auth: WsmanAuthenticator = {
    prepare: () => {
      calls.prepare++;
      return { headers: { authorization: 'Basic dTpw' } };
    },
    reset: (lane) => {
      calls.resets.push(lane);
    },
    dispose: () => {
      calls.dispose++;
    },
  };
  return { auth, calls };
}

describe('WsmanClient disposes of its authenticator', () => {
  it('once, at close (a second close does nothing); a request after it fails without asking the authenticator', async () => {
    handler = (_q, body, res) => res.end(created(body));
    const { auth, calls } = counting();
    const c = new WsmanClient({ endpoint: endpoint(), auth });
    await c.create({ runspacePoolId: 'p', name: 'Runspace1', creationXml: new Uint8Array(1) }, signal());
    expect(calls.dispose).toBe(0);
    await c.close();
    await c.close();
    expect(calls.dispose).toBe(1);
    const before = calls.prepare;
    const err = await c.delete({ shellId: 'S1' }, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WsmanTransportError);
    expect((err as WsmanTransportError).code).toBe('ClientClosed');
    expect(calls.prepare).toBe(before);
  });

  it('a close while prepare is under way: that request fails as ClientClosed, whatever prepare says after', async () => {
    let release: () => void = () => undefined;
    let disposed = 0;
    const auth: WsmanAuthenticator = {
      prepare: () =>
        new Promise((_resolve, reject) => {
          release = () => reject(new Error('the authenticator was disposed'));
        }),
      dispose: () => {
        disposed++;
        release();
      },
    };
    const c = new WsmanClient({ endpoint: endpoint(), auth });
    const pending = c.delete({ shellId: 'S1' }, signal()).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await c.close();
    const err = await pending;
    expect((err as WsmanTransportError).code).toBe('ClientClosed');
    expect(disposed).toBe(1);
  });
});

describe('WsmanClient carries the handshake generation', () => {
  it('from prepare to challenge and unwrap of that answer, and into the next attempt (to continue that handshake)', async () => {
    let calls = 0;
    handler = (_q, body, res) => {
      calls++;
      if (calls === 1) return res.writeHead(401, { 'www-authenticate': 'Fake' }).end();
      res.end(created(body));
    };
    const seen: Array<[string, unknown]> = [];
    let next = 40;
    const auth: WsmanAuthenticator = {
      prepare: (req) => {
        seen.push(['prepare', req.generation]);
        return { headers: {}, generation: ++next };
      },
      challenge: (res) => {
        seen.push(['challenge', res.generation]);
        return true;
      },
      unwrap: (res) => {
        seen.push(['unwrap', res.generation]);
        return res.body;
      },
    };
    const c = new WsmanClient({ endpoint: endpoint(), auth });
    await c.create({ runspacePoolId: 'p', name: 'Runspace1', creationXml: new Uint8Array(1) }, signal());
    await c.close();
    expect(seen).toEqual([
      ['prepare', undefined],
      ['challenge', 41],
      ['prepare', 41],
      ['unwrap', 42],
    ]);
  });
});

describe('WinrmConnection: the authenticator of every client is disposed once, on every path', () => {
  const made: Array<ReturnType<typeof counting>> = [];
  const connection = (extra: { maxRedirects?: number } = {}) => {
    made.length = 0;
    return new WinrmConnection({
      endpoint: endpoint(),
      createClient: (ep: WsmanEndpoint) => {
        const c = counting();
        made.push(c);
        return new WsmanClient({ endpoint: ep, auth: c.auth });
      },
      openTimeoutMs: 10_000,
      closeTimeoutMs: 5_000,
      ...extra,
    });
  };
  // One whole PSRP fragment (MS-PSRP 2.2.4): ObjectId, FragmentId, Start|End, BlobLength 1, one byte.
  const fragment = new Uint8Array(22);
  fragment[7] = 1;
  fragment[16] = 0x03;
  fragment[20] = 1;
  const open = { runspacePoolId: '11111111-2222-3333-4444-555555555555', data: fragment };
  const disposals = () => made.map((m) => m.calls.dispose);
  /** Receives are held (no answer) unless `receive` answers them; Create and Delete are answered. */
  const serve =
    (receive?: (body: string, res: ServerResponse) => void): Handler =>
    (req, body, res) => {
      if (body.includes(`${NS.shell}/Receive`)) return receive?.(body, res);
      if (body.includes(`${NS.transfer}/Delete`))
        return res.end(reply(`${NS.transfer}/DeleteResponse`, messageIdOf(body), ''));
      if (req.url?.startsWith('/old'))
        return res.writeHead(302, { location: `http://127.0.0.1:${port}/wsman` }).end();
      res.end(created(body));
    };

  it('a normal close (Delete, then the connections)', async () => {
    handler = serve();
    const conn = connection();
    await conn.open(open);
    expect(disposals()).toEqual([0]);
    await conn.close();
    await conn.close();
    expect(disposals()).toEqual([1]);
  });

  it('an open that fails (a fault to the Create), and the close after it', async () => {
    handler = (_q, body, res) => res.writeHead(500).end(fault(messageIdOf(body), 5, 'Access is denied.'));
    const conn = connection();
    await expect(conn.open(open)).rejects.toMatchObject({ errorId: expect.any(String) });
    expect(disposals()).toEqual([1]);
    await conn.close();
    expect(disposals()).toEqual([1]);
  });

  it('a Broken session (a fault to the Receive)', async () => {
    handler = serve((body, res) =>
      res.writeHead(500).end(fault(messageIdOf(body), 2150858843, 'The shell was not found.')),
    );
    const conn = connection();
    await conn.open(open);
    const broken = await (async () => {
      try {
        for await (const _ of conn.receive()) {
          // nothing comes
        }
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(broken).toBeDefined();
    expect(disposals()).toEqual([1]);
    await conn.close();
    expect(disposals()).toEqual([1]);
  });

  it('a redirect: the old client is disposed when the new one takes over, the new one at close', async () => {
    handler = serve();
    made.length = 0;
    const conn = new WinrmConnection({
      endpoint: endpointFromConnectionUri({ connectionUri: `http://127.0.0.1:${port}/old` }),
      createClient: (ep: WsmanEndpoint) => {
        const c = counting();
        made.push(c);
        return new WsmanClient({ endpoint: ep, auth: c.auth });
      },
      maxRedirects: 1,
      closeTimeoutMs: 5_000,
    });
    await conn.open(open);
    expect(disposals()).toEqual([1, 0]);
    await conn.close();
    expect(disposals()).toEqual([1, 1]);
  });
});

describe('LaneTable generations', () => {
  it('each handshake has its own generation; an answer of an older one is stale, a reset of it does nothing', () => {
    const released: string[] = [];
    const lanes = new LaneTable<{ name: string }>({
      established: () => true,
      release: (s) => released.push(s.name),
    });
    const a = lanes.start('ops', { name: 'a' });
    const ga = lanes.generationOf(a);
    const b = lanes.start('ops', { name: 'b' });
    const gb = lanes.generationOf(b);
    expect(ga).toBeTypeOf('number');
    expect(gb).not.toBe(ga);
    expect(released).toEqual(['a']);
    expect(lanes.stale('ops', ga)).toBe(true);
    expect(lanes.stale('ops', gb)).toBe(false);
    expect(lanes.stale('ops', undefined)).toBe(false);
    expect(lanes.current('ops', ga)).toBeUndefined();
    expect(lanes.current('ops', gb)).toBe(b);
    lanes.drop('ops', ga);
    expect(lanes.get('ops')).toBe(b);
    lanes.drop('ops', gb);
    expect(lanes.get('ops')).toBeUndefined();
    expect(released).toEqual(['a', 'b']);
    expect(lanes.stale('ops', gb)).toBe(true);
  });

  it("a later attempt of a replaced handshake waits like a first one; the handshake's own next leg does not", async () => {
    let established = false;
    const lanes = new LaneTable<{ name: string }>({ established: () => established });
    const old = lanes.start('ops', { name: 'old' });
    const gOld = lanes.generationOf(old);
    lanes.drop('ops');
    expect(await lanes.whenFree('ops', 0)).toBeUndefined();
    const now = lanes.start('ops', { name: 'new' });
    expect(await lanes.whenFree('ops', 1, lanes.generationOf(now))).toBe(now);
    let got: unknown;
    const waiting = lanes.whenFree('ops', 1, gOld).then((s) => {
      got = s;
    });
    await new Promise((r) => setImmediate(r));
    expect(got).toBeUndefined();
    established = true;
    lanes.established('ops', now);
    await waiting;
    expect(got).toBe(now);
  });

  it('close: every lane released, and no handshake starts after it (its state released at once)', async () => {
    const released: string[] = [];
    const lanes = new LaneTable<{ name: string }>({
      established: () => false,
      release: (s) => released.push(s.name),
    });
    lanes.start('ops', { name: 'a' });
    lanes.start('receive', { name: 'b' });
    lanes.close();
    expect(released).toEqual(['a', 'b']);
    expect(() => lanes.start('ops', { name: 'late' })).toThrow(/disposed/);
    expect(released).toEqual(['a', 'b', 'late']);
    await expect(lanes.whenFree('ops', 0)).rejects.toThrow(/disposed/);
  });
});

// ---- Kerberos (the GSSAPI/SSPI lane machinery) with a counting fake provider ----

function fakeProvider() {
  const counts = { contexts: 0, released: 0, unwraps: [] as number[], credentialsReleased: 0 };
  const provider: SecurityProvider = {
    kind: 'gssapi',
    library: 'fake',
    acquire: async () => ({ dispose: () => undefined }),
    initiator: (): SecurityContext => {
      const id = ++counts.contexts;
      let complete = false;
      let released = false;
      return {
        get complete() {
          return complete;
        },
        step: async (input?: Uint8Array) => {
          if (input) complete = true;
          return input ? new Uint8Array(0) : new Uint8Array([0x60, id]);
        },
        wrap: (data) => ({ header: new Uint8Array([id, 0, 0, 0]), data: new Uint8Array(data) }),
        unwrap: (header, data) => {
          counts.unwraps.push(id);
          if (header[0] !== id)
            throw new Error(`context ${id} cannot unseal a message of context ${header[0]}`);
          return new Uint8Array(data);
        },
        dispose: () => {
          if (!released) counts.released++;
          released = true;
        },
      };
    },
  };
  const credential: CredentialSource<SecurityCredential> = {
    get: async () => ({ dispose: () => undefined }),
    dispose: () => {
      counts.credentialsReleased++;
    },
  };
  const auth = gssAuthenticator({
    provider,
    scheme: 'Kerberos',
    mech: 'krb5',
    protocol: KERBEROS_SESSION_ENCRYPTED,
    timeoutMs: 5_000,
    credential,
    options: { hostname: 'srv.example.com' },
    setHost: () => undefined,
  });
  return { auth, counts };
}

const url = new URL('http://srv.example.com:5985/wsman');
const body = new TextEncoder().encode('<Envelope/>');
const answer = (lane: Lane, status: number, extra: Partial<AuthResponse> = {}): AuthResponse => ({
  lane,
  status,
  headers: {},
  body: new Uint8Array(0),
  ...extra,
});
const krbToken = (token: Uint8Array) => ({
  'www-authenticate': `Kerberos ${Buffer.from(token).toString('base64')}`,
});

/** One Kerberos handshake over HTTP on `lane`, to established; returns its generation. */
async function establish(auth: WsmanAuthenticator, lane: Lane) {
  const leg = await auth.prepare({ lane, url, body, attempt: 0 });
  const done = await auth.challenge?.(
    answer(lane, 200, {
      headers: krbToken(new Uint8Array([0x6f])),
      ...(leg.generation !== undefined ? { generation: leg.generation } : {}),
    }),
  );
  expect(done).toBe(true);
  return leg.generation;
}

describe('Kerberos lanes: release and late answers', () => {
  it('dispose releases every lane context and the credential, once; a reset releases that lane at once', async () => {
    const { auth, counts } = fakeProvider();
    await establish(auth, 'operation');
    await establish(auth, 'receive');
    expect(counts).toMatchObject({ contexts: 2, released: 0 });
    auth.reset?.('receive');
    expect(counts.released).toBe(1);
    auth.dispose?.();
    expect(counts).toMatchObject({ contexts: 2, released: 2, credentialsReleased: 1 });
    await expect(auth.prepare({ lane: 'operation', url, body, attempt: 0 })).rejects.toThrow(/disposed/);
    expect(counts.contexts).toBe(2);
  });

  it('a late sealed answer of a replaced context is refused, never unsealed by the new one', async () => {
    const { auth, counts } = fakeProvider();
    await establish(auth, 'operation');
    const sealed = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(sealed.body).toBeDefined();
    auth.reset?.('operation');
    await establish(auth, 'operation');
    const late = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    // The answer to `sealed`, sealed by context 1, arrives now: context 2 must not touch it.
    const res = answer('operation', 200, {
      headers: { 'content-type': String(late.headers['content-type']) },
      body: sealed.body as Uint8Array,
      requestSealed: true,
      ...(sealed.generation !== undefined ? { generation: sealed.generation } : {}),
    });
    await expect(auth.unwrap?.(res)).rejects.toMatchObject({ errorId: 'WinRMEncryptedBodyInvalid' });
    expect(counts.unwraps).toEqual([]);
  });

  it('a late 401 of a replaced handshake is not taken as the new handshake’s refusal: the request goes again', async () => {
    const { auth } = fakeProvider();
    const old = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    auth.reset?.('operation');
    const now = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(now.generation).not.toBe(old.generation);
    // A 401 without a token to the old handshake's token: applied to the new one, it would be "Access is denied."
    expect(
      await auth.challenge?.(
        answer('operation', 401, {
          headers: { 'www-authenticate': 'Kerberos' },
          ...(old.generation !== undefined ? { generation: old.generation } : {}),
        }),
      ),
    ).toBe(true);
    // The new handshake is intact: its own answer completes it.
    expect(
      await auth.challenge?.(
        answer('operation', 200, {
          headers: krbToken(new Uint8Array([0x6f])),
          ...(now.generation !== undefined ? { generation: now.generation } : {}),
        }),
      ),
    ).toBe(true);
    const next = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(next.handshake).toBeUndefined();
    expect(next.generation).toBe(now.generation);
  });
});

describe('Negotiate (NTLM) and CredSSP: dispose and late answers', () => {
  it('Negotiate: a late tokenless 401 of a replaced handshake does not refuse the new one', async () => {
    const auth = negotiateAuth({ username: 'u', password: 'p' });
    const old = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    auth.reset?.('operation');
    const now = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(now.generation).not.toBe(old.generation);
    const stale = answer('operation', 401, {
      headers: { 'www-authenticate': 'Negotiate' },
      ...(old.generation !== undefined ? { generation: old.generation } : {}),
    });
    expect(auth.challenge?.(stale)).toBe(true);
    // The same answer for the current handshake is the refusal it always was.
    expect(() =>
      auth.challenge?.({ ...stale, ...(now.generation !== undefined ? { generation: now.generation } : {}) }),
    ).toThrow(/Access is denied/);
    auth.dispose?.();
    await expect(auth.prepare({ lane: 'operation', url, body, attempt: 0 })).rejects.toThrow(/disposed/);
  });

  it('CredSSP: dispose frees every lane (its TLS pipe); a late 401 of a replaced handshake is not applied', async () => {
    const auth = credsspAuth({ username: 'u', password: 'p', inner: 'ntlm' });
    const old = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    auth.reset?.('operation');
    const now = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(now.generation).not.toBe(old.generation);
    const stale = answer('operation', 401, {
      headers: { 'www-authenticate': 'CredSSP' },
      ...(old.generation !== undefined ? { generation: old.generation } : {}),
    });
    expect(await auth.challenge?.(stale)).toBe(true);
    await expect(
      auth.challenge?.({ ...stale, ...(now.generation !== undefined ? { generation: now.generation } : {}) }),
    ).rejects.toThrow(/Access is denied/);
    await auth.prepare({ lane: 'receive', url, body, attempt: 0 });
    auth.dispose();
    await expect(auth.prepare({ lane: 'receive', url, body, attempt: 0 })).rejects.toThrow(/disposed/);
  });
});

describe('NTLM keys do not outlive the context', () => {
  it('dispose: no session key, no sealing, and the RC4 state is zeroed (its key stream is all zero bytes)', () => {
    const ctx = new NtlmContext({ username: 'DOM\\u', password: 'p' });
    ctx.negotiate();
    ctx.authenticate(windowsLikeChallenge());
    expect(ctx.sessionKey.length).toBe(16);
    expect(ctx.wrap(new Uint8Array([1, 2, 3])).data).not.toEqual(new Uint8Array([1, 2, 3]));
    ctx.dispose();
    ctx.dispose();
    expect(() => ctx.sessionKey).toThrow(/no session key/);
    expect(() => ctx.wrap(new Uint8Array([1]))).toThrow(/only after authentication/);
    const rc4 = new Rc4(new Uint8Array([9, 8, 7]));
    rc4.dispose();
    expect(rc4.update(new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
  });
});
