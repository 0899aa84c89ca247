import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PtySession } from './pty/harness.ts';

// Issue 10: OpenTimeout for a server that never answers, Ctrl+C out of a stream stuck mid-fragment, the object
// limit. The server is test/fixtures/hostile-pwsh.mjs, passed as the local pwsh (--pwsh).
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const FAKE = fileURLToPath(new URL('./fixtures/hostile-pwsh.mjs', import.meta.url));
const baseEnv = { ...process.env, NO_COLOR: '1' };

interface Run {
  readonly child: ReturnType<typeof spawn>;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; at: number }>;
}

function invoke(args: string[], env: Record<string, string> = {}, pwsh: string[] = ['--pwsh', FAKE]): Run {
  const child = spawn(process.execPath, [BIN, 'invoke', ...pwsh, ...args], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: performance.now() }))),
  };
  child.stdout?.on('data', (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    run.stderr += d.toString();
  });
  return run;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

let pty: PtySession | undefined;
const running: Run[] = [];
afterEach(() => {
  pty?.kill();
  pty = undefined;
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('psremote invoke against a hostile server', () => {
  it('OpenTimeout ends an open the server never answers: CreateRemoteRunspaceFailed, exit 1', async () => {
    const t0 = performance.now();
    const r = invoke(['--session-option', "@{OpenTimeout='00:00:01'}", '-Command', '1'], {
      HOSTILE_PWSH_SILENT: '1',
    });
    running.push(r);
    const end = await r.exited;
    expect(end.code).toBe(1);
    expect(r.stderr).toContain('did not open within the OpenTimeout of 1 seconds');
    expect(r.stderr).toContain('FullyQualifiedErrorId : CreateRemoteRunspaceFailed,');
    expect(end.at - t0).toBeLessThan(15_000);
  });

  it('one Ctrl+C (SIGINT) while the stream is stuck mid-fragment: the unanswered stop ends the session, exit 3', async () => {
    const r = invoke(['-Command', 'TRICKLE']);
    running.push(r);
    await until(() => r.stdout.includes('started'));
    const t0 = performance.now();
    r.child.kill('SIGINT');
    const end = await r.exited;
    const took = end.at - t0;
    expect(end.code).toBe(3);
    expect(r.stderr).toContain('FullyQualifiedErrorId : IPCSignalTimedOut,PSSessionStateBroken');
    // The stop's answer waits at most 5 s; the rest is tearing the server down.
    expect(took).toBeGreaterThanOrEqual(4900);
    expect(took).toBeLessThan(12_000);
  });

  it('a second Ctrl+C ends the stuck session at once, exit 3', async () => {
    const r = invoke(['-Command', 'TRICKLE']);
    running.push(r);
    await until(() => r.stdout.includes('started'));
    const t0 = performance.now();
    r.child.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 200));
    r.child.kill('SIGINT');
    const end = await r.exited;
    expect(end.code).toBe(3);
    expect(r.stderr).toContain('FullyQualifiedErrorId : SessionEndedByInterrupt,PSSessionStateBroken');
    expect(end.at - t0).toBeLessThan(4000);
  });

  it('Ctrl+C (SIGINT) while the session closes and the server never answers the Close: out at once, the status kept', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'psremote-close-')), 'server.log');
    const r = invoke(['-Command', '1'], { HOSTILE_PWSH_IGNORE_CLOSE: '1', HOSTILE_PWSH_LOG: log });
    running.push(r);
    const sessionClose = () =>
      existsSync(log) && readFileSync(log, 'utf8').includes('< Close 00000000-0000-0000-0000-000000000000');
    await until(sessionClose);
    const t0 = performance.now();
    r.child.kill('SIGINT');
    const end = await r.exited;
    // Without the interrupt the close waits 10 s for the CloseAck; the command itself succeeded.
    expect(end.at - t0).toBeLessThan(2000);
    expect(end.code).toBe(0);
  });

  it('an object above MaximumReceivedObjectSize breaks the session with PowerShell error, exit 3', async () => {
    const r = invoke(['--session-option', '@{MaximumReceivedObjectSize=1mb}', '-Command', 'BIGOBJECT'], {
      HOSTILE_PWSH_BIG_BYTES: String(2 * 1024 * 1024),
    });
    running.push(r);
    const end = await r.exited;
    expect(end.code).toBe(3);
    expect(r.stderr).toContain('The allowed maximum object size is 1048576.');
    expect(r.stderr).toContain(
      'FullyQualifiedErrorId : ReceivedObjectSizeExceededMaximumClient,PSSessionStateBroken',
    );
    // $null: no limit, the same object comes through.
    const ok = invoke(['--session-option', '@{MaximumReceivedObjectSize=$null}', '-Command', 'BIGOBJECT'], {
      HOSTILE_PWSH_BIG_BYTES: String(2 * 1024 * 1024),
    });
    running.push(ok);
    expect((await ok.exited).code).toBe(0);
    expect(ok.stdout.trim().length).toBe(2 * 1024 * 1024);
  });
});

describe('OpenTimeout for every transport: a server that accepts and never answers', () => {
  let mute: Server | undefined;
  afterEach(() => {
    mute?.close();
    mute = undefined;
  });
  async function mutePort(): Promise<number> {
    const sockets = new Set<import('node:net').Socket>();
    mute = createServer((c) => {
      sockets.add(c);
      c.resume();
    });
    mute.on('close', () => {
      for (const c of sockets) c.destroy();
    });
    await new Promise<void>((r) => mute?.listen(0, '127.0.0.1', r));
    const address = mute.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it.each([
    ['SSH (-HostName)', (port: number) => ['-HostName', '127.0.0.1', '-Port', String(port)], {}],
    [
      'the container engine (-ContainerId)',
      () => ['-ContainerId', 'abc'],
      { DOCKER_HOST: 'tcp://127.0.0.1:PORT' },
    ],
  ] as const)('%s', async (_name, target, env) => {
    const port = await mutePort();
    const t0 = performance.now();
    const r = invoke(
      [...target(port), '--session-option', "@{OpenTimeout='00:00:01'}", '-Command', '1'],
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('PORT', String(port))])),
      [],
    );
    running.push(r);
    const end = await r.exited;
    expect(end.code).toBe(1);
    expect(r.stderr).toContain('FullyQualifiedErrorId : CreateRemoteRunspaceFailed,');
    expect(end.at - t0).toBeLessThan(15_000);
  });
});

describe('psremote enter against a hostile server, in a pseudo-terminal', () => {
  function enter(extra: string[] = [], env: Record<string, string> = {}): PtySession {
    const state = mkdtempSync(join(tmpdir(), 'psremote-state-'));
    pty = new PtySession(process.execPath, [BIN, 'enter', '--pwsh', FAKE, ...extra], {
      env: { NO_COLOR: '1', XDG_STATE_HOME: state, ...env },
      cwd: '/',
    });
    return pty;
  }

  it('Ctrl+C twice gets out of a command stuck mid-fragment: message and exit 3', async () => {
    const s = enter();
    await s.waitFor(/\[localhost\]: PS fake> $/m);
    s.type('TRICKLE\r');
    await s.waitFor(/^started$/m);
    const t0 = performance.now();
    s.type('\x03');
    await new Promise((r) => setTimeout(r, 200));
    s.type('\x03');
    const end = await s.exited;
    expect(end.exitCode).toBe(3);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await s.screen()).toContain(
      'FullyQualifiedErrorId : SessionEndedByInterrupt,PSSessionStateBroken',
    );
  });

  it('one Ctrl+C that gets no answer within CancelTimeout ends the session: exit 3', async () => {
    const s = enter(['--session-option', "@{CancelTimeout='00:00:01'}"]);
    await s.waitFor(/\[localhost\]: PS fake> $/m);
    s.type('TRICKLE\r');
    await s.waitFor(/^started$/m);
    const t0 = performance.now();
    s.type('\x03');
    const end = await s.exited;
    expect(end.exitCode).toBe(3);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(6000);
    expect(await s.screen()).toContain('FullyQualifiedErrorId : IPCSignalTimedOut,PSSessionStateBroken');
  });

  it('Ctrl+C twice gets out while the prompt is being fetched from a stuck server', async () => {
    const s = enter([], { HOSTILE_PWSH_STUCK_PROMPT: '1' });
    await s.waitFor(/\[localhost\]: PS fake> $/m);
    s.type('1\r');
    // The next prompt never comes: the stream is stuck mid-fragment.
    await new Promise((r) => setTimeout(r, 1000));
    s.type('\x03');
    await new Promise((r) => setTimeout(r, 200));
    s.type('\x03');
    const end = await s.exited;
    expect(end.exitCode).toBe(3);
    expect(await s.screen()).toContain(
      'FullyQualifiedErrorId : SessionEndedByInterrupt,PSSessionStateBroken',
    );
  });

  it('Ctrl+C while the server never answers the handshake cancels the open at once', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'hostile-')), 'log');
    const s = enter([], { HOSTILE_PWSH_SILENT: '1', HOSTILE_PWSH_LOG: log });
    // psremote is connecting once it has started the server.
    await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('start'));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    s.type('\x03');
    const end = await s.exited;
    expect(end.exitCode).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await s.screen()).toContain('FullyQualifiedErrorId : OperationStopped,');
  });
});
