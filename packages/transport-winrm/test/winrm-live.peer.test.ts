import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  type BoundValue,
  isPSRemotingError,
  openSession,
  type PSRemotingError,
  type PSSession,
  RecordingHostUi,
} from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWinrmTransport } from '../src/winrm-transport.ts';
import { type RelayServer, startWsmanRelay } from './relay/wsman-relay.ts';

/**
 * The transport end to end against real PowerShell: test/relay/wsman-relay.ts is a WS-Management server (Basic
 * auth) relaying each shell to its own `pwsh -s`. Started and stopped here (pwsh children killed by pid).
 */
function findPwsh(): string | undefined {
  const dirs = [
    ...(process.env.PSREMOTE_PWSH ? [process.env.PSREMOTE_PWSH] : []),
    ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'pwsh')),
    join(process.env.HOME ?? '/root', '.dotnet/tools/pwsh'),
  ];
  for (const p of dirs) {
    try {
      accessSync(p, constants.X_OK);
      execFileSync(p, ['-NoProfile', '-NonInteractive', '-c', '1'], { timeout: 60_000 });
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

const pwshPath = findPwsh();
if (!pwshPath) {
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error(
      'PSREMOTE_REQUIRE_PEERS=1 but pwsh (the relay peer behind the test WS-Management server) is missing',
    );
  console.warn('[transport-winrm] pwsh not found: the WinRM live tests skip');
}

const USER = 'relayuser';
const PASSWORD = 'Relay-Passw0rd!';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface OpenArgs {
  readonly relay?: RelayServer;
  readonly bound?: Record<string, BoundValue>;
  readonly sessionOption?: Record<string, string>;
  readonly hostUi?: RecordingHostUi;
  readonly uri?: string;
}

const transport = createWinrmTransport();

function openVia(a: OpenArgs): Promise<PSSession> {
  const credential = { userName: USER, password: PASSWORD };
  const SessionOption = { NoEncryption: 'True', ...(a.sessionOption ?? {}) };
  const bound = a.uri
    ? {
        parameterSet: 'Uri' as const,
        bound: {
          ConnectionUri: a.uri,
          Authentication: 'Basic',
          Credential: credential,
          SessionOption,
          ...a.bound,
        },
      }
    : {
        parameterSet: 'ComputerName' as const,
        bound: {
          ComputerName: '127.0.0.1',
          Port: a.relay?.port ?? 5985,
          Authentication: 'Basic',
          Credential: credential,
          SessionOption,
          ...a.bound,
        },
      };
  return openSession({
    transport,
    bound,
    hostUi: a.hostUi ?? new RecordingHostUi(),
    env: { LANG: 'de_DE.UTF-8' },
  });
}

async function openError(a: OpenArgs): Promise<PSRemotingError> {
  const e = await openVia(a).then(
    async (s) => {
      await s.close();
      throw new Error('the session opened');
    },
    (err: unknown) => err,
  );
  expect(isPSRemotingError(e)).toBe(true);
  return e as PSRemotingError;
}

describe.skipIf(!pwshPath)('WinRM transport against a WS-Management relay to real pwsh', () => {
  let relay: RelayServer;
  let session: PSSession;
  const hostUi = new RecordingHostUi();

  beforeAll(async () => {
    relay = await startWsmanRelay({
      pwshPath: pwshPath as string,
      user: USER,
      password: PASSWORD,
      receivePollMs: 2000,
    });
    session = await openVia({ relay, hostUi });
  });
  afterAll(async () => {
    await session?.close();
    await relay?.close();
  });

  it('opens with Create (creationXml, protocolversion, Runspace1) and runs 1+1', async () => {
    expect(session.state).toBe('Opened');
    expect(session.protocolVersion).toMatch(/^2\.\d+$/);
    expect((await session.invoke('1+1').result()).output).toEqual([2]);
    expect(relay.stats.lastCreate?.options).toEqual({ protocolversion: '2.3' });
    expect(relay.stats.lastCreate?.name).toBe('Runspace1');
    // Locale and DataLocale from LANG (de_DE.UTF-8), MaxEnvelopeSize 150 KB, OperationTimeout 3 min.
    expect(relay.stats.lastHeaders).toMatchObject({
      locale: 'de-DE',
      dataLocale: 'de-DE',
      maxEnvelopeSize: '153600',
    });
    // The kernel closes each finished pipeline without waiting: WSManCloseCommand's Signal terminate follows.
    await vi.waitFor(() =>
      expect(relay.stats.signals).toContain(
        'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate',
      ),
    );
    expect(session.target.prompt).toEqual({ kind: 'prefix', text: '[127.0.0.1]: ' });
  });

  it('receives 10 MB of output over many Receives, in order', async () => {
    const before = relay.stats.requests.Receive ?? 0;
    let n = 0;
    let bytes = 0;
    let inOrder = true;
    for await (const v of session
      .invoke('1..10000 | ForEach-Object { "$_".PadRight(1000, \'y\') }')
      .output()) {
      n++;
      if (typeof v !== 'string' || !v.startsWith(`${n}`)) inOrder = false;
      bytes += (v as string).length;
    }
    expect(n).toBe(10_000);
    expect(bytes).toBe(10_000_000);
    expect(inOrder).toBe(true);
    // Each Receive answer is at most the 150 KB envelope: 10 MB of CLIXML needs well over 60 of them.
    expect((relay.stats.requests.Receive ?? 0) - before).toBeGreaterThan(60);
  }, 120_000);

  it('sends 1 MB+ of input in several Sends, each within the envelope budget', async () => {
    const sendsBefore = relay.stats.sends.length;
    const input = Array.from({ length: 2000 }, (_, i) => `${i}`.padEnd(600, 'z'));
    const r = await session
      .invoke('[int]($input | Measure-Object -Property Length -Sum).Sum', { input })
      .result();
    expect(r.output).toEqual([1_200_000]);
    const sends = relay.stats.sends.slice(sendsBefore);
    expect(sends.length).toBeGreaterThan(8);
    expect(Math.max(...sends)).toBeLessThanOrEqual(115_200);
    expect(relay.stats.maxRequestBody).toBeLessThanOrEqual(153_600);
  }, 60_000);

  it('answers a host call (Read-Host) over the pr stream', async () => {
    hostUi.answer('typed over pr');
    const r = await session.invoke("Read-Host -Prompt 'Name'").result();
    expect(r.output).toEqual(['typed over pr']);
  });

  it('stops a running pipeline with the crtl_c Signal', async () => {
    const inv = session.invoke('while ($true) { Start-Sleep -Milliseconds 20 }');
    await new Promise((r) => setTimeout(r, 500));
    await inv.stop();
    expect((await inv.result()).state).toBe('Stopped');
    expect(relay.stats.signals).toContain('powershell/signal/crtl_c');
    expect((await session.invoke('6*7').result()).output).toEqual([42]);
  });

  it('reads ahead only a bounded amount while nothing is consumed', async () => {
    const inv = session.invoke('1..100000');
    const iterator = inv.output()[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((r) => setTimeout(r, 1500));
    const paused = relay.stats.requests.Receive ?? 0;
    await new Promise((r) => setTimeout(r, 1500));
    expect((relay.stats.requests.Receive ?? 0) - paused).toBeLessThanOrEqual(2);
    let n = 1;
    for (let x = await iterator.next(); !x.done; x = await iterator.next()) n++;
    expect(n).toBe(100_000);
  }, 120_000);

  it('a server that picks its own ShellId and CommandIds', async () => {
    const own = await startWsmanRelay({
      pwshPath: pwshPath as string,
      user: USER,
      password: PASSWORD,
      ownIds: true,
    });
    try {
      const s = await openVia({ relay: own });
      expect((await s.invoke('"own ids"').result()).output).toEqual(['own ids']);
      await s.close();
      expect(own.stats.requests.Delete).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('close deletes the shell, is idempotent, and leaves no pwsh behind', async () => {
    const s = await openVia({ relay });
    const pids = relay.pids().length;
    const deletes = relay.stats.requests.Delete ?? 0;
    await s.close();
    await s.close();
    expect(s.state).toBe('Closed');
    expect((relay.stats.requests.Delete ?? 0) - deletes).toBe(1);
    expect(relay.pids().length).toBe(pids - 1);
  });

  it('a wrong password: "Access is denied." as PowerShell words it', async () => {
    const e = await openError({ relay, bound: { Credential: { userName: USER, password: 'wrong' } } });
    expect(e.message).toBe(
      'Connecting to remote server 127.0.0.1 failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
    expect(e.fullyQualifiedErrorId).toBe(
      'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(e.message).not.toContain('wrong');
  });

  it('a refused port: the WinRM client cannot connect', async () => {
    const port = await freePort();
    const e = await openError({ bound: { Port: port } });
    expect(e.message).toMatch(
      /^Connecting to remote server 127\.0\.0\.1 failed with the following error message : The client cannot connect to the destination specified in the request\..* For more information, see the about_Remote_Troubleshooting Help topic\.$/,
    );
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
  });

  it('a host that does not answer: WinRM cannot complete the operation, within OpenTimeout', async () => {
    // A listener that takes the connection and never answers: what an unreachable WinRM looks like to the client.
    const sockets: Socket[] = [];
    const silent = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = performance.now();
      const e = await openError({
        bound: { Port: (silent.address() as { port: number }).port },
        sessionOption: { OpenTimeout: '00:00:02' },
      });
      expect(performance.now() - t0).toBeLessThan(4000);
      expect(e.message).toBe(
        'Connecting to remote server 127.0.0.1 failed with the following error message : WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet. For more information, see the about_Remote_Troubleshooting Help topic.',
      );
      expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a name that does not resolve', async () => {
    const e = await openError({ bound: { ComputerName: 'no-such-host.invalid' } });
    expect(e.message).toBe(
      'Connecting to remote server no-such-host.invalid failed with the following error message : The WinRM client cannot process the request because the server name cannot be resolved. For more information, see the about_Remote_Troubleshooting Help topic.',
    );
  });

  it('Basic over HTTP without NoEncryption is refused before anything is sent', async () => {
    const creates = relay.stats.requests.Create ?? 0;
    const e = await openError({ relay, sessionOption: { NoEncryption: 'False' } });
    expect(e.message).toBe('Basic authentication is not supported over HTTP on Unix.');
    expect(relay.stats.requests.Create ?? 0).toBe(creates);
  });

  it('a redirect: followed with -AllowRedirection (and a warning), refused without', async () => {
    const redirector = await startWsmanRelay({ pwshPath: pwshPath as string, redirectTo: relay.url });
    try {
      const warned = new RecordingHostUi();
      const s = await openVia({ uri: redirector.url, bound: { AllowRedirection: true }, hostUi: warned });
      expect((await s.invoke('"redirected"').result()).output).toEqual(['redirected']);
      await s.close();
      expect(warned.records.some((r) => r.kind === 'warning' && r.text.includes(relay.url))).toBe(true);
      const e = await openError({ uri: redirector.url });
      expect(e.message).toBe(
        `The WinRM service cannot process the request because the request needs to be sent to a different machine. Use the redirect information to send the request to a new machine.Redirect location reported: ${relay.url}. To automatically connect to the redirected URI, verify the "MaximumConnectionRedirectionCount" property of the session preference variable "PSSessionOption", and use the "AllowRedirection" parameter on the cmdlet.`,
      );
      // MaximumConnectionRedirectionCount 0 refuses too.
      const zero = await openError({
        uri: redirector.url,
        bound: { AllowRedirection: true },
        sessionOption: { MaximumConnectionRedirectionCount: '0' },
      });
      expect(zero.message).toContain('Redirect location reported');
    } finally {
      await redirector.close();
    }
  });

  it('HTTP 413: Sends are split at fragment boundaries into smaller envelopes', async () => {
    const small = await startWsmanRelay({
      pwshPath: pwshPath as string,
      user: USER,
      password: PASSWORD,
      maxRequestBytes: 60_000,
    });
    try {
      const s = await openVia({ relay: small });
      const input = Array.from({ length: 600 }, (_, i) => `${i}`.padEnd(500, 'q'));
      const r = await s.invoke('($input | Measure-Object).Count', { input }).result();
      expect(r.output).toEqual([600]);
      expect(small.stats.tooLarge).toBeGreaterThan(0);
      expect(Math.max(...small.stats.sends)).toBeLessThan(60_000 * 0.75);
      await s.close();
    } finally {
      await small.close();
    }
  }, 60_000);

  describe('the conformance kit', () => {
    const checks = transportConformanceChecks({
      open: () => openVia({ relay }),
      kills: {
        'the remote pwsh is killed': (_s, pid) => {
          process.kill(pid, 'SIGKILL');
        },
      },
      withinMs: 2000,
    });
    for (const c of checks) it(c.name, () => c.run(), 60_000);
  });
});
