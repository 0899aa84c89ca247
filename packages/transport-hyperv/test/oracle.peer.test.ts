import { findPwsh } from '@psremote/transport-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exchangeCredentials,
  exchangeToken,
  type HandshakeOptions,
  validateToken,
} from '../src/handshake.ts';
import { a, MockPeer, type MockScript, type Msg, u } from '../src/testing-fixtures/mock-peer.ts';
import { tcpChannel } from '../src/testing-fixtures/tcp-channel.ts';
import { PsDirectOracle } from './ps-oracle.ts';

// PowerShell's own handshake code is the oracle (issue 15): pwsh 7.6 calls its internal client functions
// (ExchangeCredentialsAndConfiguration, PerformTransportVersionAndTokenExchange) and its server-side token check
// (ValidateToken) by reflection over TCP. Each client runs against the same scripted broker, and the bytes both
// send are compared read for read; then each side's client runs against the other side's server.

function pwshPath(): string | undefined {
  try {
    return findPwsh(process.env);
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1') throw e;
    return undefined;
  }
}
const pwsh = pwshPath();

let oracle: PsDirectOracle;
let psVersion = '';
beforeAll(async () => {
  if (!pwsh) return;
  ({ oracle, version: psVersion } = await PsDirectOracle.start(pwsh));
});
afterAll(async () => {
  await oracle?.stop();
});

const opts = (): HandshakeOptions => ({
  signal: new AbortController().signal,
  deadline: Date.now() + 10_000,
  readTimeoutMs: 5000,
});

const cred = { domain: 'dömain\u0101', userName: 'üser\u0150name', password: 'pässword\u017e' };
const TOKEN_512 = 'FakeTokenaaaaaaaaaAAAAAAAAAAAAAAAAAAAAAA0FakeTokenaaaaaaaaaAAAAAAAAAAAAAAAAAAAAAA0+/==';

interface Side {
  readonly reads: string[];
  readonly mismatch: string | undefined;
  readonly outcome: string;
}

/** Runs a client against a fresh mock with this script; the reads as hex, and how the client ended. */
async function against(script: MockScript, client: (port: number) => Promise<string>): Promise<Side> {
  const peer = await MockPeer.start(script);
  try {
    const outcome = await client(peer.port).catch((e: Error) => `error: ${e.message}`);
    const r = await peer.result(0);
    return { reads: r.reads.map((b) => b.toString('hex')), mismatch: r.mismatch, outcome };
  } finally {
    await peer.stop();
  }
}

async function ours(
  port: number,
  config: string | undefined,
  legacy: boolean,
  password = cred.password,
): Promise<string> {
  const ch = await tcpChannel(port);
  try {
    const r = await exchangeCredentials(ch, { ...cred, password }, config, legacy, opts());
    return r.success ? `success token=${r.token ?? 'null'}` : 'fallback';
  } finally {
    await ch.close();
  }
}

async function theirs(port: number, config: string | undefined, legacy: boolean, password = cred.password) {
  const r = await oracle.call({
    op: 'exchange',
    port,
    ...cred,
    user: cred.userName,
    password,
    config,
    legacy,
  });
  if (!r.ok) return `error: ${r.message}`;
  return r.success ? `success token=${r.token ?? 'null'}` : 'fallback';
}

const v2 = (
  version: string,
  config: string | undefined,
  token: string,
  password = cred.password,
): MockScript => {
  const expect: Msg[] = [a('VERSION'), a('VERSION_2'), u(cred.domain), u(cred.userName)];
  const replies: Msg[] = [a(version), a('PASS'), a('PASS'), a('PASS')];
  if (password) {
    expect.push(a('NONEMPTYPW'), u(password));
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
};

describe.skipIf(!pwsh)('PowerShell Direct handshake against PowerShell 7.6 itself', () => {
  it('the oracle is a PowerShell with the VERSION/TOKEN handshake (7.6.0 or later)', () => {
    const [major, minor] = psVersion.split('.').map(Number);
    expect((major ?? 0) * 100 + (minor ?? 0)).toBeGreaterThanOrEqual(706);
  });

  const cases: [string, MockScript, string | undefined, boolean, string?][] = [
    [
      'V2, configuration, 88-character token',
      v2('VERSION_2', 'Microsoft.PowerShell', TOKEN_512),
      'Microsoft.PowerShell',
      false,
    ],
    [
      'V2 answering VERSION_10, empty password, no configuration',
      v2('VERSION_10', undefined, 'tok+/=', ''),
      undefined,
      false,
      '',
    ],
    [
      'V2 broker answering PASS instead of CONF',
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
        replies: [a('VERSION_2'), a('PASS'), a('PASS'), a('PASS'), a('PASS'), a('PASS'), a('TOKEN abc')],
      },
      'cfg',
      false,
    ],
    [
      'legacy mode, configuration',
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
      'cfg',
      true,
    ],
    [
      'a legacy broker met in V2 mode: the probe',
      {
        expect: [a('VERSION'), u('?<PSDirectVMLegacy>'), a('EMPTYPW'), a('FAIL')],
        replies: [a('PASS'), a('PASS'), a('FAIL')],
      },
      'cfg',
      false,
    ],
    [
      'FAIL for the credential',
      {
        expect: [u(cred.domain), u(cred.userName), a('NONEMPTYPW'), u(cred.password), a('FAIL')],
        replies: [a('PASS'), a('PASS'), a('PASS'), a('FAIL')],
      },
      'cfg',
      true,
    ],
    [
      'FAI1 for the credential',
      {
        expect: [u(cred.domain), u(cred.userName), a('NONEMPTYPW'), u(cred.password)],
        replies: [a('PASS'), a('PASS'), a('PASS'), a('FAI1')],
      },
      'cfg',
      true,
    ],
    [
      'a token reply without TOKEN',
      {
        ...v2('VERSION_2', undefined, 'x'),
        replies: [...v2('VERSION_2', undefined, 'x').replies.slice(0, -1), a('NOPE')],
      },
      undefined,
      false,
    ],
  ];

  it.each(cases)(
    '%s: both clients send the same bytes, read for read, and end alike',
    async (_n, script, config, legacy, password) => {
      const mine = await against(script, (port) => ours(port, config, legacy, password ?? cred.password));
      const ps = await against(script, (port) => theirs(port, config, legacy, password ?? cred.password));
      expect(ps.reads).toEqual(mine.reads);
      expect(mine.reads.length).toBeGreaterThan(0);
      // A bad reply ends both with the same PowerShell message (ours carries its errorId besides).
      expect(mine.outcome).toBe(ps.outcome);
      if (!/FAI1|without TOKEN/.test(_n)) {
        expect(mine.mismatch).toBeUndefined();
        expect(ps.mismatch).toBeUndefined();
      }
    },
  );

  it('socket 2: both clients send the same version and token messages', async () => {
    const script: MockScript = {
      expect: [a('VERSION'), a('VERSION_2'), a(`TOKEN ${TOKEN_512}`)],
      replies: [a('VERSION_3'), a('PASS'), a('PASS')],
    };
    const mine = await against(script, async (port) => {
      const ch = await tcpChannel(port);
      await exchangeToken(ch, TOKEN_512, opts()).finally(() => ch.close());
      return 'ok';
    });
    const ps = await against(script, async (port) => {
      const r = await oracle.call({ op: 'token', port, token: TOKEN_512 });
      return r.ok ? 'ok' : `error: ${r.message}`;
    });
    expect(mine).toEqual({ ...ps });
    expect(mine.outcome).toBe('ok');
    expect(mine.mismatch).toBeUndefined();
  });

  it.each([
    ['the right token', 'T0k3n+/=', 'T0k3n+/=', true],
    ['a wrong token', 'T0k3n+/=', 'T0k3n+/=x', false],
  ])("our socket-2 client against PowerShell's token check, %s", async (_n, expected, sent, pass) => {
    oracle.send({ op: 'validate', token: expected, lifeSeconds: 10 });
    const { port } = await oracle.next();
    const ch = await tcpChannel(port as number);
    const err = await exchangeToken(ch, sent, opts()).catch((e) => e);
    if (pass) {
      expect(err).toBeUndefined();
      // After PASS the socket is a plain byte stream: the oracle echoes one write.
      ch.release();
      const echoed = new Promise<Buffer>((resolve) => ch.socket.once('data', resolve));
      ch.socket.resume();
      ch.socket.write('hello\n');
      expect((await echoed).toString()).toBe('hello\n');
    } else {
      expect(err).toMatchObject({ errorId: 'InvalidCredential' });
    }
    await ch.close();
    const r = await oracle.next();
    expect(r.ok ?? false).toBe(pass);
    if (!pass) expect(r.message).toBe('The credential is invalid.');
  });

  it.each([
    ['the right token', 'abc', 'abc', true],
    ['a wrong token', 'abc', 'abd', false],
  ])(
    "PowerShell's socket-2 client against our token check (the broker stand-in's), %s",
    async (_n, expected, sent, pass) => {
      const { createServer } = await import('node:net');
      const { streamChannel } = await import('../src/byte-channel.ts');
      let ours: unknown = 'pending';
      const server = createServer((s) => {
        validateToken(streamChannel(s), expected, opts()).then(
          () => {
            ours = undefined;
            s.end();
          },
          (e) => {
            ours = e;
            s.end();
          },
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const r = await oracle.call({ op: 'token', port, token: sent });
      await new Promise<void>((res) => server.close(() => res()));
      expect(r.ok ?? false).toBe(pass);
      if (pass) expect(ours).toBeUndefined();
      else {
        expect(r.message).toBe('The credential is invalid.');
        expect(ours).toMatchObject({ errorId: 'InvalidCredential' });
      }
    },
  );
});
