import { execFileSync } from 'node:child_process';
import { isPSRemotingError, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { containerTransport } from '../src/container-transport.ts';
import { podmanEnv, STOPPED, WITH_PWSH, WITHOUT_PWSH } from './container-peer.ts';

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

describe.skipIf(!socket)('the transport conformance kit (@psremote/core/testing) in a real container', () => {
  const checks = transportConformanceChecks({
    open: () => open({ ContainerId: WITH_PWSH }),
    kills: {
      // The exec's pwsh, from inside the container (its $PID is in the container's PID namespace).
      'the pwsh of the exec is killed': (_s, pid) => {
        execFileSync('podman', ['exec', WITH_PWSH, '/bin/sh', '-c', `kill -9 ${pid}`], { env: podmanEnv() });
      },
    },
  });
  for (const c of checks) it(c.name, c.run, 60_000);
});
