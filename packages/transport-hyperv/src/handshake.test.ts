import { seededRandom } from '@psremote/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DirectCredential,
  decodeReply,
  directCredential,
  exchangeCredentials,
  exchangeToken,
  extractToken,
  type HandshakeOptions,
  negotiateBroker,
  receiveSize,
  splitUserDomain,
  validateToken,
} from './handshake.ts';
import { a, type MockPeer, type Msg, MockPeer as Peer, u } from './testing-fixtures/mock-peer.ts';
import { tcpChannel } from './testing-fixtures/tcp-channel.ts';

// The cases of PowerShell's own mock-broker tests (test/xUnit/csharp/test_RemoteHyperV.cs), restated as data:
// the same conversations, credentials with a non-ASCII character in each part, the same tokens.

const rnd = seededRandom(15);
/** A printable ASCII string after `prefix` with one character from U+0100..U+017E inserted (as PowerShell's test). */
function unicodeText(prefix: string): string {
  const chars = [...prefix];
  for (let i = 0; i < 6; i++) chars.push(String.fromCharCode(33 + Math.floor(rnd() * 94)));
  chars.splice(
    Math.floor(rnd() * (chars.length + 1)),
    0,
    String.fromCharCode(0x100 + Math.floor(rnd() * 0x7f)),
  );
  return chars.join('');
}
function testCredential(password = unicodeText('password')): DirectCredential {
  return { domain: unicodeText('domain'), userName: unicodeText('username'), password };
}
const passOrFail = (): Msg => a(rnd() < 0.5 ? 'PASS' : 'FAIL');

const TOKEN_512 = 'FakeTokenaaaaaaaaaAAAAAAAAAAAAAAAAAAAAAA0FakeTokenaaaaaaaaaAAAAAAAAAAAAAAAAAAAAAA0+/==';
const TOKEN_256 = 'FakeTokenaaaaaaaaaAAAAAAAAAAAAAAAAAAAAAA0+/=';

const opts = (readTimeoutMs = 5000, openMs = 20_000): HandshakeOptions => ({
  signal: new AbortController().signal,
  deadline: Date.now() + openMs,
  readTimeoutMs,
});

/** The V2 conversation: what the client sends and what the broker answers. */
function v2Script(cred: DirectCredential, version: string, config: string | undefined, token: string) {
  const expect: Msg[] = [a('VERSION'), a('VERSION_2'), u(cred.domain), u(cred.userName)];
  const replies: Msg[] = [a(version), a('PASS'), a('PASS'), a('PASS')];
  if (cred.password) {
    expect.push(a('NONEMPTYPW'), u(cred.password));
    replies.push(a('PASS'));
  } else expect.push(a('EMPTYPW'));
  replies.push(a('CONF'));
  if (config) {
    expect.push(a('NONEMPTYCF'), u(config));
    replies.push(a('PASS'));
  } else expect.push(a('EMPTYCF'));
  replies.push(a(`TOKEN ${token}`));
  expect.push(a('PASS'));
  return { expect, replies };
}

let peer: (MockPeer & { port: number }) | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

async function run<T>(
  script: Parameters<typeof Peer.start>[0],
  body: (ch: Awaited<ReturnType<typeof tcpChannel>>) => Promise<T>,
): Promise<{ value?: T; error?: unknown; mock: Awaited<ReturnType<MockPeer['result']>> }> {
  peer = await Peer.start(script);
  const ch = await tcpChannel(peer.port);
  let value: T | undefined;
  let error: unknown;
  try {
    value = await body(ch);
  } catch (e) {
    error = e;
  }
  await ch.close();
  const mock = await peer.result(0);
  return { ...(error === undefined ? { value } : { error }), mock };
}

describe('socket 1: credential and configuration exchange', () => {
  it.each([
    ['VERSION_2', 'configurationname1', TOKEN_512],
    ['VERSION_10', undefined, TOKEN_256],
  ])('V2 broker answering %s, configuration %s: the token comes back', async (version, config, token) => {
    const cred = testCredential();
    const r = await run(v2Script(cred, version, config, token), (ch) =>
      exchangeCredentials(ch, cred, config, false, opts()),
    );
    expect(r.error).toBeUndefined();
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.value).toEqual({ success: true, token });
    expect(r.mock.closedByClient).toBe(true);
  });

  it('V2 with an empty password says EMPTYPW and never sends the password', async () => {
    const cred = testCredential('');
    const r = await run(v2Script(cred, 'VERSION_2', 'cfg', TOKEN_256), (ch) =>
      exchangeCredentials(ch, cred, 'cfg', false, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.value).toEqual({ success: true, token: TOKEN_256 });
    expect(r.mock.reads.map((b) => b.toString('latin1'))).toContain('EMPTYPW');
  });

  it('V2 broker answering PASS instead of CONF: the client acknowledges with PASS and still reads the token', async () => {
    const cred = testCredential();
    const r = await run(
      {
        expect: [
          a('VERSION'),
          a('VERSION_2'),
          u(cred.domain),
          u(cred.userName),
          a('NONEMPTYPW'),
          u(cred.password),
          a('PASS'),
          a('PASS'),
        ],
        replies: [
          a('VERSION_2'),
          a('PASS'),
          a('PASS'),
          a('PASS'),
          a('PASS'),
          a('PASS'),
          a(`TOKEN ${TOKEN_256}`),
        ],
      },
      (ch) => exchangeCredentials(ch, cred, 'ignored', false, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.value).toEqual({ success: true, token: TOKEN_256 });
  });

  it('legacy mode (V1): no version, no token; the answers to domain, user and NONEMPTYPW are not checked', async () => {
    const cred = testCredential();
    const r = await run(
      {
        expect: [u(cred.domain), u(cred.userName), a('NONEMPTYPW'), u(cred.password), a('PASS')],
        replies: [passOrFail(), passOrFail(), passOrFail(), a('PASS')],
      },
      (ch) => exchangeCredentials(ch, cred, unicodeText('config'), true, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.value).toEqual({ success: true, token: undefined });
  });

  it('a legacy broker answering VERSION with PASS gets the probe user, EMPTYPW and FAIL; the result asks for a reconnect', async () => {
    const cred = testCredential();
    const r = await run(
      {
        expect: [a('VERSION'), u('?<PSDirectVMLegacy>'), a('EMPTYPW'), a('FAIL')],
        replies: [a('PASS'), a('PASS'), a('FAIL')],
      },
      (ch) => exchangeCredentials(ch, cred, 'cfg', false, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.value).toEqual({ success: false });
    // The probe is 19 UTF-16 code units: 38 bytes in one read.
    expect(r.mock.reads[1]?.length).toBe(38);
  });

  it('an answer to the credential other than FAIL, PASS or CONF is HyperVInvalidResponse', async () => {
    const cred = testCredential();
    const r = await run(
      {
        expect: [u(cred.domain), u(cred.userName), a('NONEMPTYPW'), u(cred.password)],
        replies: [passOrFail(), passOrFail(), passOrFail(), a('FAI1')],
      },
      (ch) => exchangeCredentials(ch, cred, 'config', true, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.error).toMatchObject({ errorId: 'HyperVInvalidResponse' });
    expect((r.error as Error).message).toContain('Hyper-V Broker sent an invalid Credential response');
  });

  it('FAIL for the credential: the client answers FAIL, then InvalidCredential', async () => {
    const cred = testCredential();
    const r = await run(
      {
        expect: [u(cred.domain), u(cred.userName), a('NONEMPTYPW'), u(cred.password), a('FAIL')],
        replies: [passOrFail(), passOrFail(), passOrFail(), a('FAIL')],
      },
      (ch) => exchangeCredentials(ch, cred, 'config', true, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.error).toMatchObject({ errorId: 'InvalidCredential', message: 'The credential is invalid.' });
  });

  it('a token reply without the TOKEN prefix, or with nothing after it, is HyperVInvalidResponse', async () => {
    for (const bad of ['TOKEN    ', 'PASS']) {
      const cred = testCredential('');
      const script = v2Script(cred, 'VERSION_2', undefined, 'x');
      const replies = [...script.replies.slice(0, -1), a(bad)];
      const r = await run({ expect: script.expect.slice(0, -1), replies }, (ch) =>
        exchangeCredentials(ch, cred, undefined, false, opts()),
      );
      await peer?.stop();
      peer = undefined;
      expect(r.error).toMatchObject({ errorId: 'HyperVInvalidResponse' });
      expect((r.error as Error).message).toContain('Hyper-V Broker sent an invalid Token');
    }
  });
});

describe('socket 2: transport version and token', () => {
  it.each([
    ['VERSION_2', TOKEN_512],
    ['VERSION_10', TOKEN_256],
  ])('server answering %s: VERSION, VERSION_2, TOKEN <t>, one read each', async (version, token) => {
    const r = await run(
      {
        expect: [a('VERSION'), a('VERSION_2'), a(`TOKEN ${token}`)],
        replies: [a(version), a('PASS'), a('PASS')],
      },
      (ch) => exchangeToken(ch, token, opts()),
    );
    expect(r.error).toBeUndefined();
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.mock.closedByClient).toBe(true);
  });

  it('FAIL for the token is InvalidCredential; a reply to VERSION without VERSION_ is HyperVInvalidResponse', async () => {
    const r1 = await run(
      {
        expect: [a('VERSION'), a('VERSION_2'), a('TOKEN t')],
        replies: [a('VERSION_2'), a('PASS'), a('FAIL')],
      },
      (ch) => exchangeToken(ch, 't', opts()),
    );
    expect(r1.error).toMatchObject({ errorId: 'InvalidCredential' });
    await peer?.stop();
    peer = undefined;
    const r2 = await run({ expect: [a('VERSION')], replies: [a('PASS')] }, (ch) =>
      exchangeToken(ch, 't', opts()),
    );
    expect(r2.error).toMatchObject({ errorId: 'HyperVInvalidResponse' });
    expect((r2.error as Error).message).toBe(
      'Hyper-V Server sent an invalid TransportVersion response during the connection negotiation.',
    );
  });

  it('the first OutOfProc bytes that arrive with the final PASS stay in the stream for the OutOfProc reader', async () => {
    const trailer = Buffer.from(
      "<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>AAA</Data>\n",
    );
    peer = await Peer.start({
      expect: [a('VERSION'), a('VERSION_2'), a('TOKEN t')],
      replies: [a('VERSION_2'), a('PASS'), a('PASS')],
      trailer,
    });
    const ch = await tcpChannel(peer.port);
    await exchangeToken(ch, 't', opts());
    // The PASS may come alone or with the trailer; whatever was not read comes out of the stream next.
    const left = ch.release();
    const rest: Buffer[] = [];
    ch.socket.on('data', (b: Buffer) => rest.push(b));
    ch.socket.resume();
    await new Promise((r) => setTimeout(r, 100));
    expect(left).toBeLessThanOrEqual(trailer.length);
    expect(Buffer.concat(rest).equals(trailer)).toBe(true);
    await ch.close();
  });
});

describe('the server-side token check (ValidateToken) used by the broker stand-in', () => {
  it.each([
    ['testToken', 'testToken'],
    ['testToken\0', 'testToken'],
  ])('client token %j matches %j: PASS', async (sent, expected) => {
    const r = await run(
      {
        first: a('VERSION'),
        expect: [a('VERSION_2'), a('PASS'), a('PASS')],
        replies: [a('VERSION_2'), a(`TOKEN ${sent}`)],
      },
      (ch) => validateToken(ch, expected, opts()),
    );
    expect(r.error).toBeUndefined();
    expect(r.mock.mismatch).toBeUndefined();
  });

  it.each([
    ['abc', 'xyz'],
    ['abc', 'abcdef'],
    ['abcdef', 'abc'],
    ['abc\0def', 'abc'],
  ])('client token %j against %j: FAIL, then InvalidCredential', async (sent, expected) => {
    const r = await run(
      {
        first: a('VERSION'),
        expect: [a('VERSION_2'), a('PASS'), a('FAIL')],
        replies: [a('VERSION_2'), a(`TOKEN ${sent}`)],
      },
      (ch) => validateToken(ch, expected, opts()),
    );
    expect(r.mock.mismatch).toBeUndefined();
    expect(r.error).toMatchObject({ errorId: 'InvalidCredential' });
  });
});

describe('the whole of socket 1 (Connect, first connection)', () => {
  it('an empty user name is InvalidUsername before any connection', async () => {
    let connects = 0;
    await expect(
      negotiateBroker(
        async () => {
          connects++;
          throw new Error('not reached');
        },
        { domain: 'd', userName: '', password: 'p' },
        undefined,
        { ...opts(), requireAuthentication: () => false },
      ),
    ).rejects.toMatchObject({ errorId: 'InvalidUsername', message: 'The input username cannot be empty.' });
    expect(connects).toBe(0);
  });

  it('a legacy broker: probe on the first socket, close, reconnect, legacy exchange; no token', async () => {
    const cred = testCredential();
    peer = await Peer.start(
      {
        expect: [a('VERSION'), u('?<PSDirectVMLegacy>'), a('EMPTYPW'), a('FAIL')],
        replies: [a('PASS'), a('PASS'), a('FAIL')],
      },
      {
        expect: [
          u(cred.domain),
          u(cred.userName),
          a('NONEMPTYPW'),
          u(cred.password),
          a('NONEMPTYCF'),
          u('cfg'),
        ],
        replies: [a('PASS'), a('PASS'), a('PASS'), a('CONF'), a('PASS')],
      },
    );
    const port = peer.port;
    const out = await negotiateBroker(() => tcpChannel(port), cred, 'cfg', {
      ...opts(),
      requireAuthentication: () => false,
    });
    expect(out).toEqual({ token: undefined, legacy: true });
    const [first, second] = await Promise.all([peer.result(0), peer.result(1)]);
    expect(first.mismatch).toBeUndefined();
    expect(first.closedByClient).toBe(true);
    expect(second.mismatch).toBeUndefined();
    expect(second.closedByClient).toBe(true);
  });

  it('RequirePsDirectAuthentication set: a legacy broker is HyperVNegotiationFailed, with no second connection', async () => {
    peer = await Peer.start({
      expect: [a('VERSION'), u('?<PSDirectVMLegacy>'), a('EMPTYPW'), a('FAIL')],
      replies: [a('PASS'), a('PASS'), a('FAIL')],
    });
    const port = peer.port;
    await expect(
      negotiateBroker(() => tcpChannel(port), testCredential(), undefined, {
        ...opts(),
        requireAuthentication: () => true,
      }),
    ).rejects.toMatchObject({ errorId: 'HyperVNegotiationFailed' });
    expect((await peer.result(0)).mismatch).toBeUndefined();
    expect(peer.connections).toBe(1);
  });
});

describe('deadlines', () => {
  it('a broker that never answers fails after the per-read timeout, not later', async () => {
    const t0 = Date.now();
    const r = await run({ expect: [a('VERSION')], replies: [null] }, (ch) =>
      exchangeCredentials(ch, testCredential(), undefined, false, opts(300)),
    );
    expect(r.error).toMatchObject({ errorId: 'PSRemotingConnectTimeout', category: 'OperationTimeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('the OpenTimeout bounds a read even when the per-read timeout is longer', async () => {
    const t0 = Date.now();
    const r = await run({ expect: [a('VERSION')], replies: [null] }, (ch) =>
      exchangeToken(ch, 't', opts(10_000, 250)),
    );
    expect(r.error).toMatchObject({ errorId: 'PSRemotingConnectTimeout' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a broker that closes mid-handshake is VMSessionConnectFailed, not a hang', async () => {
    peer = await Peer.start({ expect: [a('VERSION')], replies: [] });
    const ch = await tcpChannel(peer.port);
    peer.sockets[0]?.end();
    // The mock ends its side once it has read VERSION and has nothing to answer.
    const err = await exchangeCredentials(ch, testCredential(), undefined, false, opts()).catch((e) => e);
    expect(err).toMatchObject({ errorId: 'VMSessionConnectFailed' });
    await ch.close();
  });
});

describe('pieces', () => {
  it('splits user names as PSCredential.GetNetworkCredential does; an empty domain is sent as localhost', () => {
    expect(splitUserDomain('CORP\\alice')).toEqual({ user: 'alice', domain: 'CORP' });
    expect(splitUserDomain('alice@corp')).toEqual({ user: 'alice', domain: 'corp' });
    expect(splitUserDomain('alice@corp.example')).toEqual({ user: 'alice@corp.example', domain: '' });
    expect(splitUserDomain('a@b.c@corp.example')).toEqual({ user: 'a@b.c', domain: 'corp.example' });
    expect(splitUserDomain('Administrator')).toEqual({ user: 'Administrator', domain: '' });
    expect(directCredential('Administrator', 'x')).toEqual({
      domain: 'localhost',
      userName: 'Administrator',
      password: 'x',
    });
  });

  it('reads with ArrayPool sizes, decodes ASCII with NULs trimmed, extracts a trimmed token', () => {
    expect([4, 11, 16, 110, 256, 1024].map(receiveSize)).toEqual([16, 16, 16, 128, 256, 1024]);
    expect(decodeReply(Buffer.from('PASS\0\0'))).toBe('PASS');
    expect(decodeReply(Buffer.from([0x50, 0xc3, 0xa9]))).toBe('P??');
    expect(extractToken('TOKEN  abc \r\n')).toBe('abc');
    expect(extractToken('TOKEN ')).toBeUndefined();
    expect(extractToken('token abc')).toBeUndefined();
  });
});
