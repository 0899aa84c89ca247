import { connect } from 'node:net';
import { openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { findPwsh } from '@psremote/transport-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VM_SESSION_SERVICE_ID, VM_SESSION_SERVICE_ID_2 } from '../src/constants.ts';
import { createHyperVTransport } from '../src/hyperv-transport.ts';
import { BrokerStandIn, type StandInOptions } from './broker-stand-in.ts';

// Socket 2 end to end without Hyper-V: the Hyper-V sockets are TCP connections to a broker stand-in, which answers
// the token exchange and relays to a real `pwsh -s`. Everything else is the transport as it runs on Windows: the
// handshake, the token, the OutOfProc connection, the error lines and the end of socket 2.

function pwshPath(): string | undefined {
  try {
    return findPwsh(process.env);
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1') throw e;
    return undefined;
  }
}
const pwsh = pwshPath();
const VM_ID = '0b7a3c2e-1111-4222-8333-944455556666';

const standIns: BrokerStandIn[] = [];
afterAll(async () => {
  await Promise.all(standIns.map((s) => s.stop()));
});

async function standIn(o: Partial<StandInOptions> = {}): Promise<BrokerStandIn> {
  const s = await new BrokerStandIn({ pwsh: pwsh as string, password: 'pässwörd', ...o }).start();
  standIns.push(s);
  return s;
}

function transport(s: BrokerStandIn, seen: string[] = []) {
  return createHyperVTransport({
    lookup: async (q) => {
      if (q.by === 'Name' && q.vmName !== 'vm1') throw new Error(`unexpected VM ${q.vmName}`);
      return { vmId: VM_ID, vmName: 'vm1' };
    },
    requireAuthentication: () => false,
    openSocket: (vmId, serviceId) =>
      new Promise((resolve, reject) => {
        seen.push(`${vmId}/${serviceId}`);
        const port = serviceId === VM_SESSION_SERVICE_ID ? s.ports.broker : s.ports.server;
        const c = connect(port, '127.0.0.1');
        c.setNoDelay(true);
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      }),
  });
}

function open(s: BrokerStandIn, extra: Record<string, unknown> = {}, seen?: string[]): Promise<PSSession> {
  return openSession({
    transport: transport(s, seen),
    bound: {
      parameterSet: 'VMName',
      bound: {
        VMName: 'vm1',
        Credential: { userName: 'CORP\\admin', password: 'pässwörd' },
        ...extra,
      } as never,
    },
    hostUi: new RecordingHostUi(),
    openTimeoutMs: 30_000,
  });
}

describe.skipIf(!pwsh)('PowerShell Direct end to end through a broker stand-in and a real pwsh -s', () => {
  let broker: BrokerStandIn;
  beforeAll(async () => {
    broker = await standIn();
  });

  it('opens: socket 1 then socket 2 to the looked-up VM, the credential split as PowerShell does, the prompt label', async () => {
    const seen: string[] = [];
    const s = await open(broker, { ConfigurationName: 'Microsoft.PowerShell' }, seen);
    try {
      expect(seen).toEqual([`${VM_ID}/${VM_SESSION_SERVICE_ID}`, `${VM_ID}/${VM_SESSION_SERVICE_ID_2}`]);
      expect(broker.saw.at(-1)).toEqual({
        domain: 'CORP',
        userName: 'admin',
        password: 'pässwörd',
        configurationName: 'Microsoft.PowerShell',
      });
      expect(s.target.prompt).toEqual({ kind: 'remote-function', label: 'vm1' });
      const r = await s.invoke('1 + 1').result();
      expect(r.output).toEqual([2]);
    } finally {
      await s.close();
    }
  });

  const checks = transportConformanceChecks({
    open: () => open(broker),
    kills: {
      'the PowerShell behind socket 2 is killed': (_s, pid) => {
        process.kill(pid, 'SIGKILL');
      },
    },
  });
  for (const c of checks) it(`conformance: ${c.name}`, c.run, 30_000);

  it('a wrong password: CreateRemoteRunspaceForVMFailed carrying InvalidCredential', async () => {
    const s = await standIn({ password: 'other' });
    const err = await open(s).catch((e) => e);
    expect(err).toMatchObject({
      errorId: 'CreateRemoteRunspaceForVMFailed',
      category: 'InvalidArgument',
      message: 'The credential is invalid.',
    });
    expect(err.cause).toMatchObject({ errorId: 'InvalidCredential' });
  });

  it('socket 2 refusing the token: InvalidCredential', async () => {
    const s = await standIn({ serverToken: 'not-the-one' });
    const err = await open(s).catch((e) => e);
    expect(err).toMatchObject({
      errorId: 'CreateRemoteRunspaceForVMFailed',
      message: 'The credential is invalid.',
    });
  });

  it('a legacy broker: probe, reconnect, legacy exchange, then socket 2 with no token', async () => {
    const s = await standIn({ legacy: true });
    const session = await open(s);
    try {
      expect(s.legacyProbes).toBe(1);
      expect(s.saw).toHaveLength(1);
      const r = await session.invoke("'legacy'").result();
      expect(r.output).toEqual(['legacy']);
    } finally {
      await session.close();
    }
  });

  it('an error line on socket 2 is IPCServerProcessReportedError with its text', async () => {
    const s = await standIn({ socket2Says: '__HyperVSocketError__: The session configuration is broken\n' });
    const err = await open(s).catch((e) => e);
    expect(err).toMatchObject({ errorId: 'IPCServerProcessReportedError' });
    expect(err.message).toContain('The session configuration is broken');
  });

  it('socket 2 ending before the session opens: the Hyper-V socket target process has ended', async () => {
    const s = await standIn({ socket2Says: '' });
    const err = await open(s).catch((e) => e);
    expect(err).toMatchObject({ errorId: 'IPCServerProcessReportedError' });
    expect(err.message).toContain('The Hyper-V socket target process has ended.');
  });
});
