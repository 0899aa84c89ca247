import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ContainerPeer,
  podmanEnv,
  startContainerPeer,
  stopContainerPeer,
} from '../../transport-container/test/container-peer.ts';
import { agentEnv, agentPid, alive, cli, cliAsync, rows, stopAgent, until } from './agent-harness.ts';
import { BIN } from './local-pwsh.ts';

// Container sessions held by the agent, through a real podman engine. The container and the engine's socket are
// this file's own (a prefix with this process's pid), so transport-container's tests, which use their fixed
// names, can run at the same time without either removing the other's containers.

let peer: ContainerPeer | undefined;
let unavailable = '';
let dir = '';
let env: Record<string, string> = {};

/**
 * The pwsh sessions running in the container, one pid each (podman top, pids as the container sees them). The
 * PowerShell global tool's `pwsh` is a launcher with the runtime as its child: only the outermost pwsh counts.
 */
function pwshInContainer(name: string): number[] {
  const out = execFileSync('podman', ['top', name, 'pid', 'ppid', 'args'], {
    env: podmanEnv(),
    encoding: 'utf8',
  });
  const procs = out
    .split('\n')
    .slice(1)
    .filter((l) => /\bpwsh\b/.test(l))
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const pids = new Set(procs.map(([pid]) => pid));
  return procs.filter(([, ppid]) => !pids.has(ppid)).map(([pid]) => pid);
}

beforeAll(async () => {
  try {
    peer = await startContainerPeer({ prefix: `psremote-cli-${process.pid}`, withPwshOnly: true });
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
      throw new Error(
        `PSREMOTE_REQUIRE_PEERS=1 but the podman peer could not start: ${(e as Error).message}`,
      );
    unavailable = (e as Error).message;
    console.warn(`[cli] podman peer unavailable, the agent's container tests skip: ${unavailable}`);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'psremote-agent-ct-'));
  env = { ...agentEnv(dir), DOCKER_HOST: `unix://${peer.socket}` };
}, 900_000);

afterAll(async () => {
  if (dir) await stopAgent(dir);
  // Not without a peer: stopContainerPeer(undefined) removes transport-container's fixed names. What a failed
  // start left is removed at the next start, its owner pid being gone.
  if (peer) stopContainerPeer(peer);
});

describe('container sessions held by the agent (podman)', () => {
  it('new -ContainerId (and -RunAsAdministrator), entered twice with a variable kept, busy while entered, listed, removed', async (ctx) => {
    if (unavailable) ctx.skip();
    const name = peer?.names.withPwsh as string;
    // The two opens at once (each starts a pwsh in the container): which gets Id 1 is not fixed.
    const [made, admin] = await Promise.all([
      cliAsync(env, ['new', '-ContainerId', name, '-Name', 'ct']),
      cliAsync(env, ['new', '-ContainerId', peer?.withPwshId.slice(0, 12) as string, '-RunAsAdministrator']),
    ]);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(made.stdout).toMatch(/^ {2}[12] ct {14}Container {1}\S+ +Container {7}Opened {2,}Available$/m);
    expect(admin.status).toBe(0);
    expect(admin.stdout).toMatch(/^ {2}([12]) Runspace\1 +Container .* Opened {2,}Available$/m);
    const listed = rows(env);
    const ct = listed.find((r) => r.name === 'ct');
    const adm = listed.find((r) => r.name !== 'ct');
    expect(listed.map((r) => [r.id, r.state, r.availability]).sort()).toEqual([
      [1, 'Opened', 'Available'],
      [2, 'Opened', 'Available'],
    ]);
    expect(adm?.name).toBe(`Runspace${adm?.id}`);

    expect(cli(env, ['enter', '-Name', 'ct'], '$x = whoami\nSet-Location /tmp\n"in"\n').stdout).toBe('in\n');
    expect(cli(env, ['enter', '-Id', String(ct?.id)], '"x=$x"\n(Get-Location).Path\n').stdout).toBe(
      'x=ctuser\n/tmp\n',
    );
    expect(cli(env, ['invoke', '-Id', String(adm?.id), '-Command', 'whoami']).stdout).toBe('root\n');
    expect(cli(env, ['enter', '-InstanceId', ct?.instanceId as string], '$x\n').stdout).toBe('ctuser\n');
    // Busy: while one client is inside, another enter gets PowerShell's busy error; after its exit, it gets in.
    const first = spawn(process.execPath, [BIN, 'enter', '-Name', 'ct'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    first.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const firstEnd = new Promise((r) => first.on('exit', r));
    first.stdin?.write('"inside $x"\n');
    await until(() => out.includes('inside ctuser'), 20_000, 'the first client inside');
    const second = cli(env, ['enter', '-Name', 'ct'], '"second"\n');
    expect(second.status).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toMatch(/FullyQualifiedErrorId : EnterPSSessionSessionBusy,/);
    first.stdin?.end();
    expect(await firstEnd).toBe(0);
    expect(cli(env, ['enter', '-Name', 'ct'], '"second $x"\n').stdout).toBe('second ctuser\n');
    // Each session is one pwsh exec'd in the container; remove ends it there.
    expect(pwshInContainer(name)).toHaveLength(2);
    expect(cli(env, ['remove', '-Id', '1', '-Id', '2']).status).toBe(0);
    expect(rows(env)).toEqual([]);
    expect(pwshInContainer(name)).toEqual([]);
  }, 60_000);

  it('SIGKILL of the agent ends the pwsh it exec’d in the container', async (ctx) => {
    if (unavailable) ctx.skip();
    const name = peer?.names.withPwsh as string;
    expect(cli(env, ['new', '-ContainerId', name, '-Name', 'k']).status).toBe(0);
    const [inside] = pwshInContainer(name);
    expect(inside).toBeGreaterThan(0);
    const pid = agentPid(dir) as number;
    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid), 5_000, 'the agent dying');
    await until(() => pwshInContainer(name).length === 0, 10_000, 'the pwsh in the container ending');
  }, 30_000);

  it('the container killed while the session is idle: get shows Broken, enter says why, remove cleans it', async (ctx) => {
    if (unavailable) ctx.skip();
    const name = peer?.names.withPwsh as string;
    expect(cli(env, ['new', '-ContainerId', name, '-Name', 'brk']).status).toBe(0);
    execFileSync('podman', ['kill', name], { env: podmanEnv() });
    await until(() => rows(env).find((r) => r.name === 'brk')?.state === 'Broken', 10_000, 'Broken');
    expect(rows(env)[0]?.reason).toBe(`The connection to container ${name} ended unexpectedly.`);
    expect(cli(env, ['get']).stdout).toMatch(/brk .* Broken +None$/m);
    const entering = cli(env, ['enter', '-Name', 'brk']);
    expect(entering.status).toBe(1);
    expect(entering.stderr.replace(/\n/g, '')).toContain(
      `The session is Broken. The connection to container ${name} ended unexpectedly.`,
    );
    expect(entering.stderr).toMatch(/^Enter-PSSession: Cannot enter session brk because /m);
    expect(entering.stderr).toMatch(/FullyQualifiedErrorId : PushedRunspaceMustBeOpen,/);
    expect(cli(env, ['remove', '-Name', 'brk']).status).toBe(0);
    expect(rows(env)).toEqual([]);
  }, 30_000);
});
