import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { negotiateAuth } from '../auth/negotiate-auth.ts';
import { endpointFromConnectionUri } from '../url/wsman-endpoint.ts';
import { basicAuth, type WsmanAuthenticator } from './auth.ts';
import { WsmanClient } from './client.ts';
import { WsmanFault, WsmanHttpError, WsmanProtocolError, WsmanTransportError } from './errors.ts';
import { NS } from './namespaces.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_q, _b, res) => res.end();
let server: Server;
let port: number;
const seen: Array<{ headers: IncomingMessage['headers']; body: string; url: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push({ headers: req.headers, body, url: req.url });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const messageIdOf = (body: string) => /<wsa:MessageID>([^<]+)</.exec(body)?.[1] ?? '';
const reply = (action: string, relatesTo: string, body: string) =>
  `<S:Envelope xmlns:S="${NS.soap}" xmlns:A="${NS.addressing}" xmlns:R="${NS.shell}"><S:Header><A:Action>${action}</A:Action>` +
  `<A:RelatesTo>${relatesTo}</A:RelatesTo></S:Header><S:Body>${body}</S:Body></S:Envelope>`;
const fault = (relatesTo: string, sub: string, code: number, message: string) =>
  `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.addressing}" xmlns:w="${NS.wsman}"><s:Header>` +
  `<a:Action>${NS.addressing}/fault</a:Action><a:RelatesTo>${relatesTo}</a:RelatesTo></s:Header><s:Body><s:Fault>` +
  `<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:${sub}</s:Value></s:Subcode></s:Code>` +
  `<s:Reason><s:Text xml:lang="en-US">reason</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="${NS.wsmanFault}" Code="${code}" Machine="m">` +
  `<f:Message>${message}</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`;

function client(auth: WsmanAuthenticator = basicAuth('u', 'p'), extra = {}) {
  return new WsmanClient({
    endpoint: endpointFromConnectionUri({ connectionUri: `http://127.0.0.1:${port}/wsman` }),
    auth,
    ...extra,
  });
}
const signal = () => AbortSignal.timeout(10_000);

describe('WsmanClient over HTTP', () => {
  it('posts SOAP with Basic auth to the endpoint path with ?PSVersion= and reads a CreateResponse', async () => {
    handler = (_q, body, res) =>
      res.end(
        reply(
          `${NS.transfer}/CreateResponse`,
          messageIdOf(body),
          '<R:Shell><R:ShellId>ABC</R:ShellId><R:ResourceUri>http://x</R:ResourceUri></R:Shell>',
        ),
      );
    const c = client();
    const r = await c.create(
      { runspacePoolId: 'abc', name: 'Runspace1', creationXml: new Uint8Array([1, 2, 3]) },
      signal(),
    );
    await c.close();
    expect(r).toEqual({ shellId: 'ABC', resourceUri: 'http://x' });
    const last = seen.at(-1);
    expect(last?.url).toBe('/wsman?PSVersion=2.0');
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(last?.headers['content-type']).toBe('application/soap+xml;charset=UTF-8');
    expect(last?.body).toContain(
      '<creationXml xmlns="http://schemas.microsoft.com/powershell">AQID</creationXml>',
    );
  });

  it('turns a fault into WsmanFault with code and message, never the XML', async () => {
    handler = (_q, body, res) => {
      res.statusCode = 500;
      res.end(
        fault(messageIdOf(body), 'InvalidSelectors', 2150858843, 'The shell was not found &amp; gone.'),
      );
    };
    const c = client();
    const err = await c
      .send({ shellId: 'S', stream: 'stdin', data: new Uint8Array([1]) }, signal())
      .catch((e) => e);
    await c.close();
    expect(err).toBeInstanceOf(WsmanFault);
    expect((err as WsmanFault).info.wsmanCode).toBe(2150858843);
    expect((err as WsmanFault).signedCode).toBe(-2144108453);
    expect((err as WsmanFault).message).toBe('The shell was not found & gone.');
    expect((err as WsmanFault).info.subcode).toEqual({ ns: NS.wsman, local: 'InvalidSelectors' });
  });

  it('treats the OperationTimeout fault of a Receive as "nothing yet"', async () => {
    handler = (_q, body, res) => {
      res.statusCode = 500;
      res.end(fault(messageIdOf(body), 'TimedOut', 2150858793, 'timed out'));
    };
    const c = client();
    const r = await c.receive({ shellId: 'S' }, signal());
    await c.close();
    expect(r).toEqual({ streams: [], commandState: undefined, timedOut: true });
    expect(seen.at(-1)?.body).toContain('<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>');
  });

  it('HTTP errors without a fault are WsmanHttpError; 401 without a retry too', async () => {
    handler = (_q, _b, res) => {
      res.statusCode = 503;
      res.end('<html>busy</html>');
    };
    const c = client();
    const e503 = await c.delete({ shellId: 'S' }, signal()).catch((e) => e);
    handler = (_q, _b, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Basic realm="x"');
      res.end();
    };
    const e401 = await c.delete({ shellId: 'S' }, signal()).catch((e) => e);
    await c.close();
    expect(e503).toBeInstanceOf(WsmanHttpError);
    expect((e503 as WsmanHttpError).status).toBe(503);
    expect((e503 as Error).message).not.toContain('html');
    expect((e401 as WsmanHttpError).status).toBe(401);
  });

  it('lets an authenticator answer a 401 challenge and unwrap the body, on the same lane', async () => {
    let n = 0;
    handler = (req, body, res) => {
      n++;
      if (req.headers.authorization !== 'Token 2') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Token challenge');
        return res.end();
      }
      res.end(Buffer.from(reply(`${NS.shell}/SignalResponse`, messageIdOf(body), '')).reverse());
    };
    const lanes: string[] = [];
    const auth: WsmanAuthenticator = {
      prepare: (r) => {
        lanes.push(r.lane);
        return { headers: { authorization: `Token ${r.attempt + 1}` } };
      },
      challenge: (r) => r.headers['www-authenticate'] === 'Token challenge',
      unwrap: (r) => new Uint8Array(Buffer.from(r.body).reverse()),
    };
    const c = client(auth);
    await c.signal({ shellId: 'S', commandId: 'C' }, signal());
    await c.close();
    expect(n).toBe(2);
    expect(lanes).toEqual(['operation', 'operation']);
  });

  it('tells unwrap whether the request went out sealed (a body of its own, not a handshake leg)', async () => {
    handler = (_req, body, res) => res.end(reply(`${NS.shell}/SignalResponse`, messageIdOf(body) || 'x', ''));
    const told: (boolean | undefined)[] = [];
    let sealed = false;
    const auth: WsmanAuthenticator = {
      prepare: (r) => {
        const envelope = Buffer.from(r.body);
        return sealed
          ? { headers: {}, body: new Uint8Array(envelope) }
          : { headers: {}, body: new Uint8Array(0), handshake: true };
      },
      challenge: () => {
        sealed = true;
        return true;
      },
      unwrap: (r) => {
        told.push(r.requestSealed);
        return r.body;
      },
    };
    const c = client(auth);
    await c.signal({ shellId: 'S', commandId: 'C' }, signal());
    await c.close();
    // The handshake leg's answer went to challenge; the sealed request's answer to unwrap, marked.
    expect(told).toEqual([true]);
    const plain = client({
      prepare: () => ({ headers: {} }),
      unwrap: (r) => {
        told.push(r.requestSealed);
        return r.body;
      },
    });
    await plain.signal({ shellId: 'S', commandId: 'C' }, signal());
    await plain.close();
    expect(told).toEqual([true, undefined]);
  });

  it('a leg the authenticator cannot make resets the lane: a request waiting on it goes on at once', async () => {
    // Every NEGOTIATE is answered with a challenge that is no token: the second leg cannot be made.
    handler = (_req, _body, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Negotiate ${Buffer.from('not a token').toString('base64')}`);
      res.end();
    };
    const c = client(negotiateAuth({ username: 'u', password: 'p' }));
    const started = performance.now();
    const outcomes = await Promise.allSettled([
      c.signal({ shellId: 'S', commandId: 'C' }, signal()),
      c.signal({ shellId: 'S', commandId: 'D' }, signal()),
    ]);
    await c.close();
    // Both fail on the token, the second without waiting for the first handshake to time out (30 s) or for its
    // connection to close (about 3 s here).
    for (const o of outcomes)
      expect(o).toMatchObject({ status: 'rejected', reason: { errorId: 'WinRMAuthTokenInvalid' } });
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('a server that answers 401 with a challenge forever: bounded legs, then the lane context is reset', async () => {
    let n = 0;
    handler = (_q, _b, res) => {
      n++;
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Token same-forever');
      res.end();
    };
    const resets: string[] = [];
    const auth: WsmanAuthenticator = {
      prepare: (r) => ({ headers: { authorization: `Token ${r.attempt}` }, handshake: true }),
      challenge: () => true,
      reset: (lane) => {
        resets.push(lane);
      },
    };
    const c = client(auth, { maxAuthLegs: 3 });
    const e = await c.signal({ shellId: 'S', commandId: 'C' }, signal()).then(
      () => undefined,
      (x: unknown) => x,
    );
    // Before close (whose disconnect resets every lane anyway): the give-up itself reset the lane.
    expect(resets).toEqual(['operation']);
    await c.close();
    expect(e).toBeInstanceOf(WsmanHttpError);
    expect(n).toBe(3);
  });

  it('a connection the server closes mid-handshake: a transport error, the lane reset, the next request authenticates anew', async () => {
    let legs = 0;
    let closeOnce = true;
    handler = (req, body, res) => {
      legs++;
      if (req.headers.authorization === 'Token 0') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Token more');
        return res.end();
      }
      if (closeOnce) {
        closeOnce = false;
        req.socket.destroy();
        return;
      }
      res.end(reply(`${NS.shell}/SignalResponse`, messageIdOf(body), ''));
    };
    const resets: string[] = [];
    const auth: WsmanAuthenticator = {
      prepare: (r) => ({ headers: { authorization: `Token ${r.attempt}` }, handshake: r.attempt === 0 }),
      challenge: (r) => r.status === 401,
      reset: (lane) => {
        resets.push(lane);
      },
    };
    const c = client(auth);
    const first = await c.signal({ shellId: 'S', commandId: 'C' }, signal()).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(first).toBeInstanceOf(WsmanTransportError);
    expect(resets).toContain('operation');
    await c.signal({ shellId: 'S', commandId: 'C' }, signal());
    await c.close();
    expect(legs).toBe(4);
  });

  it('refuses an answer to another request (RelatesTo) and an oversized body', async () => {
    handler = (_q, _b, res) => res.end(reply(`${NS.shell}/SendResponse`, 'uuid:OTHER', ''));
    const c = client();
    const wrong = await c
      .send({ shellId: 'S', stream: 'pr', data: new Uint8Array(1) }, signal())
      .catch((e) => e);
    handler = (_q, body, res) =>
      res.end(reply(`${NS.shell}/SendResponse`, messageIdOf(body), `<R:X>${'A'.repeat(5000)}</R:X>`));
    const big = client(basicAuth('u', 'p'), { maxResponseBytes: 2048 });
    const tooBig = await big
      .send({ shellId: 'S', stream: 'pr', data: new Uint8Array(1) }, signal())
      .catch((e) => e);
    await c.close();
    await big.close();
    expect(wrong).toBeInstanceOf(WsmanProtocolError);
    expect(tooBig).toBeInstanceOf(WsmanProtocolError);
    expect((tooBig as Error).message).toContain('larger than 2048 bytes');
  });

  it('reports a refused connection and a cancelled request as WsmanTransportError', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const c = new WsmanClient({
      endpoint: endpointFromConnectionUri({ connectionUri: `http://127.0.0.1:${deadPort}/wsman` }),
      auth: basicAuth('u', 'p'),
    });
    const refused = await c.delete({ shellId: 'S' }, signal()).catch((e) => e);
    await c.close();
    expect(refused).toBeInstanceOf(WsmanTransportError);
    expect((refused as WsmanTransportError).code).toBe('ECONNREFUSED');

    handler = () => undefined; // never answers
    const slow = client();
    const ac = new AbortController();
    const p = slow.receive({ shellId: 'S' }, ac.signal).catch((e) => e);
    setTimeout(() => ac.abort(), 100);
    const aborted = await p;
    await slow.close();
    expect(aborted).toBeInstanceOf(WsmanTransportError);
    expect((aborted as WsmanTransportError).code).toBe('AbortError');
  });
});
