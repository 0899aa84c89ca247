import { isPSRemotingError, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { containerTransport } from '../src/container-transport.ts';
import { STOPPED, WITH_PWSH, WITHOUT_PWSH } from './container-peer.ts';

const socket = inject('containerSocket');
const fullId = inject('containerWithPwshId');
const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };

async function open(
  args: Record<string, string | boolean>,
  e: Record<string, string | undefined> = env,
): Promise<PSSession> {
  return openSession({
    transport: containerTransport,
    bound: { parameterSet: 'ContainerId', bound: args },
    hostUi: new RecordingHostUi(),
    env: e,
  });
}

async function openError(
  args: Record<string, string | boolean>,
  e: Record<string, string | undefined> = env,
) {
  const err = await open(args, e).then(
    (s) => {
      void s.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  if (!isPSRemotingError(err)) throw new Error(`expected a PSRemotingError, got ${String(err)}`);
  return err;
}

describe.skipIf(!socket)('ContainerId sessions through a real podman engine', () => {
  let session: PSSession;
  beforeAll(async () => {
    session = await open({ ContainerId: WITH_PWSH });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('enters by name; whoami is the image user without -RunAsAdministrator', async () => {
    const r = await session.invoke('whoami').result();
    expect(r.output).toEqual(['ctuser']);
    expect(session.target.prompt).toEqual({
      kind: 'remote-function',
      label: WITH_PWSH.slice(0, 14) + '\u2026',
    });
  });

  it('enters by id prefix; -RunAsAdministrator runs as root', async () => {
    const s = await open({ ContainerId: fullId.slice(0, 12), RunAsAdministrator: true });
    try {
      expect((await s.invoke('whoami').result()).output).toEqual(['root']);
    } finally {
      await s.close();
    }
  });

  it('carries output over 1 MB', async () => {
    const r = await session.invoke("'y' * 1200000").result();
    expect((r.output[0] as string).length).toBe(1_200_000);
  });

  it('stops a running pipeline and stays usable', async () => {
    const inv = session.invoke('while ($true) { }');
    setTimeout(() => void inv.stop(), 300);
    expect((await inv.result()).state).toBe('Stopped');
    expect((await session.invoke('6*7').result()).output).toEqual([42]);
  });

  it('a stopped container: InvalidContainerId saying it is not running', async () => {
    const e = await openError({ ContainerId: STOPPED });
    expect(e.errorId).toBe('InvalidContainerId');
    expect(e.message).toMatch(/not running/);
  });

  it('a container without pwsh: ContainerPowerShellNotFound', async () => {
    const e = await openError({ ContainerId: WITHOUT_PWSH });
    expect(e.errorId).toBe('ContainerPowerShellNotFound');
  });

  it('an unknown id: InvalidContainerId', async () => {
    const e = await openError({ ContainerId: 'no-such-container-xyz' });
    expect(e.errorId).toBe('InvalidContainerId');
    expect(e.message).toMatch(/does not exist/);
  });

  it('the engine socket missing: ContainerEngineUnavailable naming DOCKER_HOST', async () => {
    const e = await openError(
      { ContainerId: WITH_PWSH },
      { ...process.env, DOCKER_HOST: 'unix:///nonexistent/engine.sock' },
    );
    expect(e.errorId).toBe('ContainerEngineUnavailable');
    expect(e.message).toMatch(/DOCKER_HOST/);
  });
});
