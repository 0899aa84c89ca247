import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, PWSH_PATH } from './local-pwsh.ts';

// What the agent's end-to-end tests share: a private agent directory per file (PSREMOTE_AGENT_DIR), the CLI run
// against it, and the agent found and stopped by the pid it writes.

export function agentEnv(dir: string, idleMs = 20_000): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    PATH: PWSH_PATH,
    NO_COLOR: '1',
    PSREMOTE_AGENT_DIR: dir,
    PSREMOTE_AGENT_IDLE_MS: String(idleMs),
  };
}

export function cli(env: Record<string, string>, args: string[], input = '') {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, input, encoding: 'utf8', timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** cli, without blocking this process: for clients that must run at the same time. */
export function cliAsync(
  env: Record<string, string>,
  args: string[],
): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
  });
}

export interface AgentRow {
  id: number;
  name: string;
  instanceId: string;
  state: string;
  availability: string;
  transport: string;
  computerName: string;
  reason?: string;
}

export function rows(env: Record<string, string>): AgentRow[] {
  return cli(env, ['get', '--json'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export function agentPid(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'agent.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until(what: () => boolean, ms: number, label: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`${label} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pids of a process's children (the agent's pwsh -s children), from /proc (Linux). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A process's parent and command line, from /proc (Linux); undefined once it is gone. */
export function procInfo(pid: number): { ppid: number; uid: number; cmdline: string[] } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(status)?.[1]);
    const uid = Number(/^Uid:\s*(\d+)/m.exec(status)?.[1]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { ppid, uid, cmdline };
  } catch {
    return undefined;
  }
}

export async function stopAgent(dir: string): Promise<void> {
  const pid = agentPid(dir);
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    await until(() => !alive(pid), 10_000, 'the agent ending').catch(() => process.kill(pid, 'SIGKILL'));
  }
  rmSync(dir, { recursive: true, force: true });
}
