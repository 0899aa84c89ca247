import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession, type PSSession } from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSshTransport } from '../src/ssh-transport.ts';
import { FakeHostUi } from './fake-host-ui.ts';

const peer = inject('sshPeer');
const live = describe.skipIf(!peer);
const transport = createSshTransport({ systemConfigPath: null });

let home: string;
let env: Record<string, string | undefined>;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'psremote-ssh-session-'));
  env = { HOME: home, USER: 'root', PATH: process.env.PATH };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function open(hostUi = new FakeHostUi(), options: Record<string, string> = {}): Promise<PSSession> {
  if (!peer) throw new Error('no peer');
  return openSession({
    transport,
    hostUi,
    env,
    bound: {
      parameterSet: 'SSHHost',
      bound: {
        HostName: `pstest@127.0.0.1:${peer.port}`,
        KeyFilePath: peer.keys.ed25519,
        Options: { UserKnownHostsFile: peer.knownHostsPath, ...options },
      },
    },
  });
}

function ppid(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

live('a PSRP session over SSH with real pwsh -sshs', () => {
  let session: PSSession;
  beforeAll(async () => {
    session = await open();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('opens; whoami is the test user', async () => {
    expect(session.state).toBe('Opened');
    const r = await session.invoke('whoami').result();
    expect(r.output).toEqual(['pstest']);
  });

  it('1..5 round-trips five Int32s in order', async () => {
    const r = await session.invoke('1..5').result();
    expect(r.state).toBe('Completed');
    expect(r.output).toEqual([1, 2, 3, 4, 5]);
  });

  it("the prompt is PowerShell's: [pstest@127.0.0.1]: PS /home/pstest> ", async () => {
    const remote = (await session.invoke('prompt').result()).output[0];
    const prefix = session.target.prompt.kind === 'prefix' ? session.target.prompt.text : '';
    expect(`${prefix}${String(remote)}`).toBe('[pstest@127.0.0.1]: PS /home/pstest> ');
  });
});

live('the transport conformance kit (@psremote/core/testing) over SSH', () => {
  const kill = (pids: number[]) => {
    execFileSync('kill', ['-9', ...pids.map(String)]);
  };
  const checks = transportConformanceChecks({
    open: () => open(),
    kills: {
      'the remote pwsh is killed': (_s, pid) => kill([pid]),
      // sshd's per-connection processes: the unprivileged child (pwsh's parent) and its privileged monitor.
      'the sshd serving the connection is killed': (_s, pid) => kill([ppid(pid), ppid(ppid(pid))]),
    },
  });
  for (const c of checks) it(c.name, c.run, 30_000);
});

live('a server that stops answering', () => {
  it('ServerAliveInterval=1, ServerAliveCountMax=1: Broken within about 2 s of silence', async () => {
    const session = await open(new FakeHostUi(), { ServerAliveInterval: '1', ServerAliveCountMax: '1' });
    const pid = (await session.invoke('$PID').result()).output[0] as number;
    // Freeze sshd's processes for this connection: the TCP connection stays up, nothing answers.
    const frozen = [pid, ppid(pid), ppid(ppid(pid))];
    execFileSync('kill', ['-STOP', ...frozen.map(String)]);
    const t0 = performance.now();
    try {
      await session.whenEnded;
      expect(session.state).toBe('Broken');
      expect(session.reason?.category).toBe('ConnectionError');
      expect(performance.now() - t0).toBeLessThan(3500);
    } finally {
      execFileSync('kill', ['-KILL', ...frozen.map(String)]);
      execFileSync('kill', ['-CONT', ...frozen.map(String)]);
    }
  });
});
