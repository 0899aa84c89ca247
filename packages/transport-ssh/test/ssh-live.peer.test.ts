import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BoundValue, isPSRemotingError, type PSRemotingError } from '@psremote/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fingerprint } from '../src/known-hosts.ts';
import { openSshChannel, type SshChannel } from '../src/ssh-connect.ts';
import type { SshTarget } from '../src/ssh-target.ts';
import { createSshTransport } from '../src/ssh-transport.ts';
import { FakeHostUi, testContext } from './fake-host-ui.ts';
import { ENCRYPTED_KEY_PASSPHRASE } from './ssh-peer.ts';

const peer = inject('sshPeer');
const missing = inject('sshPeerMissing');
if (!peer) console.warn(`[transport-ssh] live tests skipped: ${missing}`);
const live = describe.skipIf(!peer);

const transport = createSshTransport({ systemConfigPath: null });
const ZERO = '00000000-0000-0000-0000-000000000000';

let home: string;
let env: Record<string, string | undefined>;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'psremote-ssh-home-'));
  env = { HOME: home, USER: 'root', PATH: process.env.PATH };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function p() {
  if (!peer) throw new Error('no peer');
  return peer;
}

/** The SSHHost bound parameters for the test server; known_hosts pinned unless overridden. */
function target(
  extra: Record<string, BoundValue> = {},
  options: Record<string, string> = {},
  e = env,
): SshTarget {
  return transport.resolveTarget(
    {
      parameterSet: 'SSHHost',
      bound: {
        HostName: `pstest@127.0.0.1:${p().port}`,
        Options: { UserKnownHostsFile: p().knownHostsPath, ...options },
        ...extra,
      },
    },
    e,
  ) as SshTarget;
}

const noHops = (hop: string): SshTarget => {
  throw new Error(`unexpected hop ${hop}`);
};

async function open(t: SshTarget, ui: FakeHostUi, e = env): Promise<SshChannel> {
  return openSshChannel(t, testContext(ui, e), noHops);
}

async function failure(promise: Promise<unknown>): Promise<PSRemotingError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isPSRemotingError(e)) throw new Error(`expected a PSRemotingError, got ${String(e)}`);
  return e;
}

/** Sends an OutOfProc session Close and waits for pwsh's CloseAck: proves the subsystem is a PSRP server. */
async function pwshAnswers(ch: SshChannel): Promise<string> {
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`no CloseAck; got ${JSON.stringify(buf.slice(0, 300))}`)),
      30_000,
    );
    ch.channel.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const l = buf.split('\n').find((x) => x.includes('CloseAck'));
      if (l) {
        clearTimeout(timer);
        resolve(l.trim());
      }
    });
    ch.channel.write(`<Close PSGuid='${ZERO}' />\n`);
  });
  for (const c of ch.clients) c.end();
  return line;
}

const timings: string[] = [];
afterAll(() => {
  if (timings.length)
    console.log(
      `[transport-ssh] timings (ms from start: tcp / handshake+auth / subsystem open):\n  ${timings.join('\n  ')}`,
    );
});

live('authentication against a real sshd', () => {
  it('password, asked through the HostUi; the banner is written as it is (pwsh: no WARNING:); real pwsh answers CloseAck', async () => {
    const ui = new FakeHostUi([p().password]);
    const ch = await open(target({}, { PubkeyAuthentication: 'no' }), ui);
    timings.push(
      `password: ${ch.timings.tcpMs.toFixed(1)} / ${ch.timings.readyMs.toFixed(1)} / ${ch.timings.channelMs.toFixed(1)}`,
    );
    expect(ui.asked).toEqual(['ReadLineAsSecureString']);
    expect(ui.written).toContain(`pstest@127.0.0.1's password: `);
    expect(ui.written).toContain('psremote test sshd: authorized use only\n');
    expect(ui.warnings.join('\n')).not.toContain('authorized use only');
    expect(await pwshAnswers(ch)).toBe(`<CloseAck PSGuid='${ZERO}' />`);
  });

  it('an ed25519 key (-KeyFilePath), nothing asked', async () => {
    const ui = new FakeHostUi();
    const ch = await open(target({ KeyFilePath: p().keys.ed25519 }), ui);
    timings.push(
      `ed25519 key: ${ch.timings.tcpMs.toFixed(1)} / ${ch.timings.readyMs.toFixed(1)} / ${ch.timings.channelMs.toFixed(1)}`,
    );
    expect(ui.asked).toEqual([]);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
  });

  it('-ConnectingTimeout does not run while the user types: a slow password still gets in', async () => {
    // The answer comes after 1.2 s; the timeout is 1 s of connection time.
    const ui = new FakeHostUi([p().password]);
    const slow = ui.readLineAsSecureString.bind(ui);
    ui.readLineAsSecureString = async () => {
      await new Promise((r) => setTimeout(r, 1200));
      return slow();
    };
    const ch = await open(target({ ConnectingTimeout: 1000 }, { PubkeyAuthentication: 'no' }), ui);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
  });

  it('an RSA key in PEM format', async () => {
    const ui = new FakeHostUi();
    const ch = await open(target({ KeyFilePath: p().keys.rsaPem }), ui);
    timings.push(
      `rsa pem key: ${ch.timings.tcpMs.toFixed(1)} / ${ch.timings.readyMs.toFixed(1)} / ${ch.timings.channelMs.toFixed(1)}`,
    );
    expect(ui.asked).toEqual([]);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
  });

  it('an encrypted key: its passphrase is asked through the HostUi (a wrong one is asked again)', async () => {
    const ui = new FakeHostUi(['wrong', ENCRYPTED_KEY_PASSPHRASE]);
    const ch = await open(target({ KeyFilePath: p().keys.encrypted }, { PasswordAuthentication: 'no' }), ui);
    expect(ui.asked).toEqual(['ReadLineAsSecureString', 'ReadLineAsSecureString']);
    expect(ui.written).toContain(`Enter passphrase for key '${p().keys.encrypted}': `);
    expect(ui.warnings.some((w) => w.includes('Bad passphrase'))).toBe(true);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
  });

  it('an encrypted key the server would not accept: its passphrase is never asked (the public half is offered first)', async () => {
    const ui = new FakeHostUi([ENCRYPTED_KEY_PASSPHRASE]);
    const e = await failure(
      open(target({ KeyFilePath: p().keys.encryptedUnauthorized }, { PasswordAuthentication: 'no' }), ui),
    );
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.message).toContain(`offered the encrypted ssh-ed25519 key ${p().keys.encryptedUnauthorized}`);
    expect(ui.asked).toEqual([]);
  });

  it('an encrypted key whose passphrase is not given: no other prompt, a clear failure', async () => {
    const ui = new FakeHostUi(['']);
    const e = await failure(
      open(target({ KeyFilePath: p().keys.encrypted }, { PasswordAuthentication: 'no' }), ui),
    );
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.message).toContain(`no valid passphrase was given for ${p().keys.encrypted}`);
    expect(e.message).not.toContain('ssh-agent');
    expect(ui.asked).toEqual(['ReadLineAsSecureString']);
  });

  it('an encrypted PEM key with a stale .pub: the passphrase is asked once, and the mismatch is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-stale-pub-'));
    try {
      const key = join(dir, 'id_rsa');
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', 'pem pass', '-f', key]);
      // The .pub beside it is another (authorized) key: the server accepts it, the private key cannot sign for it.
      writeFileSync(`${key}.pub`, readFileSync(`${p().keys.ed25519}.pub`));
      const ui = new FakeHostUi(['pem pass', 'pem pass', 'pem pass']);
      const e = await failure(open(target({ KeyFilePath: key }, { PasswordAuthentication: 'no' }), ui));
      expect(e.errorId).toBe('SshAuthenticationFailed');
      expect(e.message).toContain(`the private key ${key} does not match its public key`);
      expect(ui.asked).toEqual(['ReadLineAsSecureString']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an encrypted key without an interactive host fails fast and says why', async () => {
    const ui = new FakeHostUi();
    const e = await failure(open(target({ KeyFilePath: p().keys.encrypted }), ui));
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.category).toBe('AuthenticationError');
    expect(e.message).toContain('skipped the encrypted key');
    expect(ui.asked).toEqual([]);
  });

  describe('ssh-agent', () => {
    let agent: ChildProcess | undefined;
    let sock: string;
    beforeAll(async () => {
      sock = join(home, 'agent.sock');
      agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      for (let i = 0; i < 50; i++) {
        try {
          execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
          break;
        } catch (e) {
          // exit 1 = "no identities": the agent is up
          if ((e as { status?: number }).status === 1) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      execFileSync('ssh-add', [p().keys.agentOnly], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: 'ignore',
      });
    });
    afterAll(() => {
      if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    });

    it('authenticates with the agent named by SSH_AUTH_SOCK in ctx.env', async () => {
      const ui = new FakeHostUi();
      const e2 = { ...env, SSH_AUTH_SOCK: sock };
      const ch = await open(target({}, {}, e2), ui, e2);
      timings.push(
        `agent: ${ch.timings.tcpMs.toFixed(1)} / ${ch.timings.readyMs.toFixed(1)} / ${ch.timings.channelMs.toFixed(1)}`,
      );
      expect(ui.asked).toEqual([]);
      expect(await pwshAnswers(ch)).toContain('CloseAck');
    });

    it('-Options IdentityAgent names the socket (a path, or $VAR from ctx.env)', async () => {
      const ch = await open(target({}, { IdentityAgent: sock }), new FakeHostUi());
      expect(await pwshAnswers(ch)).toContain('CloseAck');
      const e2 = { ...env, MY_AGENT: sock };
      const ch2 = await open(target({}, { IdentityAgent: '$MY_AGENT' }, e2), new FakeHostUi(), e2);
      expect(await pwshAnswers(ch2)).toContain('CloseAck');
    });

    it('IdentitiesOnly=yes leaves the agent out', async () => {
      const e2 = { ...env, SSH_AUTH_SOCK: sock };
      const e = await failure(open(target({}, { IdentitiesOnly: 'yes' }, e2), new FakeHostUi(), e2));
      expect(e.errorId).toBe('SshAuthenticationFailed');
    });
  });

  it("keyboard-interactive (PAM): the server's prompt is shown and answered through the HostUi", async () => {
    const ui = new FakeHostUi([p().password]);
    const t = target(
      { HostName: `pstest@127.0.0.1:${p().kbdPort}` },
      { UserKnownHostsFile: p().kbdKnownHostsPath },
    );
    const ch = await open(t, ui);
    expect(ui.asked).toEqual(['ReadLineAsSecureString']);
    expect(ui.written).toContain('Password: ');
    expect(await pwshAnswers(ch)).toContain('CloseAck');
  });

  it('keyboard-interactive with a wrong answer fails with the methods named', async () => {
    const ui = new FakeHostUi(['wrong']);
    const t = target(
      { HostName: `pstest@127.0.0.1:${p().kbdPort}` },
      { UserKnownHostsFile: p().kbdKnownHostsPath, NumberOfPasswordPrompts: '0' },
    );
    const e = await failure(open(t, ui));
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.message).toContain('keyboard-interactive');
  });

  it('a wrong password: three tries, then SshAuthenticationFailed naming the methods', async () => {
    const ui = new FakeHostUi(['nope1', 'nope2', 'nope3']);
    const e = await failure(open(target({}, { PubkeyAuthentication: 'no' }), ui));
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.message).toContain('Permission denied (publickey,password)');
    expect(ui.asked).toEqual(['ReadLineAsSecureString', 'ReadLineAsSecureString', 'ReadLineAsSecureString']);
    expect(e.recommendedAction).toBeTruthy();
  });

  it('no usable key and nobody to ask: fails fast, never prompts', async () => {
    const ui = new FakeHostUi();
    const t0 = performance.now();
    const e = await failure(open(target({ KeyFilePath: p().keys.unauthorized }), ui));
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(e.message).toContain(`offered the ssh-ed25519 key ${p().keys.unauthorized}`);
    expect(e.message).toContain('did not ask for a password');
    expect(ui.asked).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('a missing -KeyFilePath is KeyFileNotFound before any connection', () => {
    let err: unknown;
    try {
      target({ KeyFilePath: join(home, 'no-such-key') });
    } catch (e) {
      err = e;
    }
    expect(isPSRemotingError(err) && err.errorId).toBe('KeyFileNotFound');
  });

  it('~/.ssh/config: Host alias with HostName, Port, User, IdentityFile, UserKnownHostsFile', async () => {
    const h = mkdtempSync(join(tmpdir(), 'psremote-ssh-cfg-'));
    const e2 = { HOME: h, USER: 'root' };
    execFileSync('mkdir', ['-p', join(h, '.ssh')]);
    writeFileSync(
      join(h, '.ssh', 'config'),
      `Host pstest-box\n  HostName 127.0.0.1\n  Port ${p().port}\n  User pstest\n  IdentityFile ${p().keys.rsaPem}\n  UserKnownHostsFile ${p().knownHostsPath}\n`,
    );
    const t = transport.resolveTarget(
      { parameterSet: 'SSHHost', bound: { HostName: 'pstest-box' } },
      e2,
    ) as SshTarget;
    expect(t).toMatchObject({ hostName: '127.0.0.1', port: p().port, user: 'pstest' });
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[pstest-box]: ' });
    const ch = await open(t, new FakeHostUi(), e2);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
    rmSync(h, { recursive: true, force: true });
  });

  it('ProxyJump through the same sshd', async () => {
    const h = mkdtempSync(join(tmpdir(), 'psremote-ssh-jump-'));
    const e2 = { HOME: h, USER: 'root' };
    execFileSync('mkdir', ['-p', join(h, '.ssh')]);
    const kh = join(h, 'known_hosts');
    writeFileSync(
      kh,
      `[127.0.0.1]:${p().port} ${p().hostPublicKey}\n[localhost]:${p().port} ${p().hostPublicKey}\n`,
    );
    writeFileSync(
      join(h, '.ssh', 'config'),
      `Host inner\n  HostName localhost\n  Port ${p().port}\n  ProxyJump pstest@127.0.0.1:${p().port}\nHost *\n  User pstest\n  IdentityFile ${p().keys.ed25519}\n  UserKnownHostsFile ${kh}\n`,
    );
    const t = transport.resolveTarget(
      { parameterSet: 'SSHHost', bound: { HostName: 'inner' } },
      e2,
    ) as SshTarget;
    expect(t.proxyJump).toBe(`pstest@127.0.0.1:${p().port}`);
    const hop = (x: string) => ({
      ...(transport.resolveTarget({ parameterSet: 'SSHHost', bound: { HostName: x } }, e2) as SshTarget),
      proxyJump: undefined,
    });
    const ch = await openSshChannel(t, testContext(new FakeHostUi(), e2), hop);
    expect(ch.clients).toHaveLength(2);
    expect(await pwshAnswers(ch)).toContain('CloseAck');
    rmSync(h, { recursive: true, force: true });
  });
});

live('host keys against known_hosts', () => {
  const hostKeyBlob = () => Buffer.from(p().hostPublicKey.split(' ')[1] ?? '', 'base64');
  const kh = (name: string, text: string) => {
    const f = join(home, name);
    writeFileSync(f, text);
    return f;
  };

  it('unknown host, interactive: asked with the fingerprint, accepted, appended', async () => {
    const file = kh('kh-unknown-yes', '');
    const ui = new FakeHostUi([0]);
    const ch = await open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), ui);
    expect(ui.asked).toEqual(['PromptForChoice']);
    expect(ui.questions[0]).toContain(fingerprint(hostKeyBlob()));
    expect(ui.questions[0]).toContain(`[127.0.0.1]:${p().port}`);
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:${p().port} ${p().hostPublicKey}\n`);
    expect(
      ui.warnings.some((w) => w.startsWith(`Permanently added '[127.0.0.1]:${p().port}' (ED25519)`)),
    ).toBe(true);
    await pwshAnswers(ch);
    // The recorded key now matches: no question the second time.
    const ui2 = new FakeHostUi();
    const ch2 = await open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), ui2);
    expect(ui2.asked).toEqual([]);
    await pwshAnswers(ch2);
  });

  it('unknown host, interactive, declined: SshHostKeyUnknown and nothing written', async () => {
    const file = kh('kh-unknown-no', '');
    const e = await failure(
      open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), new FakeHostUi([1])),
    );
    expect(e.errorId).toBe('SshHostKeyUnknown');
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('unknown host, non-interactive: refused without asking', async () => {
    const file = kh('kh-unknown-batch', '');
    const ui = new FakeHostUi();
    const e = await failure(
      open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), ui),
    );
    expect(e.errorId).toBe('SshHostKeyUnknown');
    expect(e.category).toBe('SecurityError');
    expect(e.recommendedAction).toContain('accept-new');
    expect(ui.asked).toEqual([]);
  });

  it.each(['no', 'accept-new'])(
    'unknown host, non-interactive, StrictHostKeyChecking=%s: accepted and recorded',
    async (mode) => {
      const file = kh(`kh-unknown-${mode}`, '');
      const ui = new FakeHostUi();
      const ch = await open(
        target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file, StrictHostKeyChecking: mode }),
        ui,
      );
      expect(readFileSync(file, 'utf8')).toContain(p().hostPublicKey);
      await pwshAnswers(ch);
    },
  );

  it('GlobalKnownHostsFile: a key recorded there matches, and nothing is written to the user file', async () => {
    const user = kh('kh-global-user', '');
    const global = kh('kh-global', `[127.0.0.1]:${p().port} ${p().hostPublicKey}\n`);
    const ui = new FakeHostUi();
    const ch = await open(
      target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: user, GlobalKnownHostsFile: global }),
      ui,
    );
    expect(ui.asked).toEqual([]);
    expect(readFileSync(user, 'utf8')).toBe('');
    await pwshAnswers(ch);
  });

  it('HostKeyAlias: the key is looked up, and recorded, under the alias instead of [host]:port', async () => {
    const known = kh('kh-alias', `psremote-alias ${p().hostPublicKey}\n`);
    const ui = new FakeHostUi();
    const ch = await open(
      target(
        { KeyFilePath: p().keys.ed25519 },
        { UserKnownHostsFile: known, HostKeyAlias: 'psremote-alias' },
      ),
      ui,
    );
    expect(ui.asked).toEqual([]);
    await pwshAnswers(ch);
    // The same key under [127.0.0.1]:port only: unknown for the alias, so it is asked about and appended under it.
    const plain = kh('kh-alias-plain', `[127.0.0.1]:${p().port} ${p().hostPublicKey}\n`);
    const ui2 = new FakeHostUi([0]);
    const ch2 = await open(
      target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: plain, HostKeyAlias: 'other-alias' }),
      ui2,
    );
    expect(ui2.asked).toEqual(['PromptForChoice']);
    expect(readFileSync(plain, 'utf8')).toContain(`\nother-alias ${p().hostPublicKey}\n`);
    await pwshAnswers(ch2);
  });

  it('a hashed entry (ssh-keygen -H) matches', async () => {
    const file = kh('kh-hashed', `[127.0.0.1]:${p().port} ${p().hostPublicKey}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    const ui = new FakeHostUi();
    const ch = await open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), ui);
    expect(ui.asked).toEqual([]);
    await pwshAnswers(ch);
  });

  it('a changed key is refused with the warning', async () => {
    const other = readFileSync(`${p().keys.unauthorized}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = kh('kh-changed', `# comment\n[127.0.0.1]:${p().port} ${other}\n`);
    const ui = new FakeHostUi([0]);
    const e = await failure(
      open(target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file }), ui),
    );
    expect(e.errorId).toBe('SshHostKeyChanged');
    expect(e.message).toContain(`${file}:2`);
    expect(ui.warnings.join('\n')).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(ui.asked).toEqual([]);
  });

  it('a changed key with StrictHostKeyChecking=no connects with a key, but never sends a password', async () => {
    const other = readFileSync(`${p().keys.unauthorized}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = kh('kh-changed-no', `[127.0.0.1]:${p().port} ${other}\n`);
    const ch = await open(
      target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file, StrictHostKeyChecking: 'no' }),
      new FakeHostUi(),
    );
    await pwshAnswers(ch);
    const ui = new FakeHostUi([p().password]);
    const e = await failure(
      open(
        target({}, { UserKnownHostsFile: file, StrictHostKeyChecking: 'no', PubkeyAuthentication: 'no' }),
        ui,
      ),
    );
    expect(e.errorId).toBe('SshAuthenticationFailed');
    expect(ui.asked).toEqual([]);
  });

  it('@revoked is refused even next to a matching line', async () => {
    const file = kh(
      'kh-revoked',
      `[127.0.0.1]:${p().port} ${p().hostPublicKey}\n@revoked * ${p().hostPublicKey}\n`,
    );
    const e = await failure(
      open(
        target({ KeyFilePath: p().keys.ed25519 }, { UserKnownHostsFile: file, StrictHostKeyChecking: 'no' }),
        new FakeHostUi([0]),
      ),
    );
    expect(e.errorId).toBe('SshHostKeyRevoked');
  });
});

live('connection failures are clear and fast', () => {
  let silent: Server;
  let silentPort = 0;
  const silentSockets = new Set<Socket>();
  beforeAll(async () => {
    // A listening socket that accepts and never speaks.
    silent = createServer((sock) => {
      silentSockets.add(sock);
      sock.on('close', () => silentSockets.delete(sock));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const a = silent.address();
    silentPort = typeof a === 'object' && a ? a.port : 0;
  });
  afterAll(async () => {
    for (const sock of silentSockets) sock.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('a port nobody listens on: SshConnectionRefused', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const a = s.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    await new Promise((r) => s.close(r));
    const e = await failure(open(target({ HostName: `pstest@127.0.0.1:${port}` }), new FakeHostUi()));
    expect(e.errorId).toBe('SshConnectionRefused');
    expect(e.message).toContain(`port ${port}`);
  });

  it('-ConnectingTimeout against a server that never answers: SshConnectionTimeout on time', async () => {
    const t0 = performance.now();
    const e = await failure(
      open(target({ HostName: `127.0.0.1:${silentPort}`, ConnectingTimeout: 700 }), new FakeHostUi()),
    );
    const elapsed = performance.now() - t0;
    expect(e.errorId).toBe('SshConnectionTimeout');
    expect(e.message).toContain('SSH connection attempt failed after time out: 0.7 seconds');
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(2000);
  });

  it('-Options ConnectTimeout too', async () => {
    const e = await failure(
      open(target({ HostName: `127.0.0.1:${silentPort}` }, { ConnectTimeout: '1' }), new FakeHostUi()),
    );
    expect(e.errorId).toBe('SshConnectionTimeout');
  });

  it('an unknown host name: SshHostNotFound', async () => {
    const e = await failure(open(target({ HostName: 'no-such-host.invalid' }), new FakeHostUi()));
    expect(e.errorId).toBe('SshHostNotFound');
  });

  it('a subsystem the server does not have: SshSubsystemUnavailable, no hang', async () => {
    const t0 = performance.now();
    const e = await failure(
      open(target({ KeyFilePath: p().keys.ed25519, Subsystem: 'nosuch' }), new FakeHostUi()),
    );
    expect(e.errorId).toBe('SshSubsystemUnavailable');
    expect(e.message).toContain("'nosuch'");
    expect(e.recommendedAction).toContain('Subsystem nosuch');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('a subsystem whose program is missing: the connection fails with the server text, no hang', async () => {
    const conn = await transport.connect(
      target({ KeyFilePath: p().keys.ed25519, Subsystem: p().brokenSubsystem }),
      testContext(new FakeHostUi(), env),
    );
    const t0 = performance.now();
    let err: unknown;
    try {
      for await (const _ of conn.receive()) {
        // nothing arrives
      }
    } catch (e) {
      err = e;
    }
    expect(isPSRemotingError(err) && err.errorId).toBe('SSHAbruptlyTerminated');
    expect((err as Error).message, (err as Error).message).toContain(
      "status 127: the program of the 'broken' subsystem was not found",
    );
    expect(performance.now() - t0).toBeLessThan(5000);
    await conn.close();
  });

  it('aborting ctx.signal while connecting: OperationStopped', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const e = await failure(
      openSshChannel(
        target({ HostName: `127.0.0.1:${silentPort}` }),
        testContext(new FakeHostUi(), env, ac.signal),
        noHops,
      ),
    );
    expect(e.errorId).toBe('OperationStopped');
  });
});
