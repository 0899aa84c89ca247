// The session agent's figures (issue 13), a section of `pnpm bench` (BENCH_AGENT=0 leaves it out):
// 1. Time to the first prompt in a pseudo-terminal over the same private sshd: `psremote enter -Name web` (a
//    session the agent holds), a fresh `psremote enter -HostName ...`, and pwsh's own `Enter-PSSession -HostName`
//    (pwsh's start-up included, as a user of it waits for it too). Beside them, in the same runs and the same
//    pseudo-terminal, the floor: a Node program that only prints a prompt (node's own start-up). The held session
//    is entered once before the runs (its first enter prepares it, and writes the CLI's code cache); each run then
//    is what a user sees at every later enter. PSREMOTE_TRACE_TIMING=1 psremote enter -Name web shows the steps.
// 2. Memory per idle session: BENCH_AGENT_SESSIONS (default 1000) sessions opened in one process on the in-memory
//    fake server (core/testing), as the agent holds them; RSS and heap growth per session.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importPeer } from './import-peer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// package.json's psremote.
const bin = join(root, 'packages/cli/dist/bin.cjs');
const requireCli = createRequire(join(root, 'packages/cli/package.json'));
const fmt = (n, unit = 'ms') => (n === undefined ? '-' : `${n.toFixed(1)} ${unit}`);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];

/** Milliseconds from spawning `file args` in a pty to `prompt` in its output; the program is then killed. */
function toFirstPrompt(file, args, env, prompt) {
  const pty = requireCli('@lydell/node-pty');
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let out = '';
    const p = pty.spawn(file, args, { name: 'xterm-256color', cols: 120, rows: 30, cwd: '/', env });
    const timer = setTimeout(() => {
      p.kill();
      reject(new Error(`no prompt within 60 s: ${out.slice(-400)}`));
    }, 60_000);
    p.onData((d) => {
      out += d;
      // PSReadLine asks where the cursor is (DSR); a terminal answers.
      if (d.includes('\x1b[6n')) p.write('\x1b[1;1R');
      if (prompt.test(out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))) {
        const ms = performance.now() - t;
        clearTimeout(timer);
        p.kill();
        resolve(ms);
      }
    });
  });
}

export async function agentSection(env, repeat) {
  console.log(
    '\n## Session agent: a held session entered vs a fresh one (private sshd), and memory per idle session',
  );
  const { startSshPeer } = await importPeer('packages/transport-ssh/test/ssh-peer.ts');
  const peer = await startSshPeer();
  const dir = mkdtempSync(join(tmpdir(), 'psremote-bench-agent-'));
  const agentEnv = { ...env, NO_COLOR: '1', PSREMOTE_AGENT_DIR: dir, PSREMOTE_AGENT_IDLE_MS: '60000' };
  const target = [
    '-HostName',
    `${peer.user}@127.0.0.1:${peer.port}`,
    '-KeyFilePath',
    peer.keys.ed25519,
    '-Options',
    `@{UserKnownHostsFile='${peer.knownHostsPath}'}`,
  ];
  try {
    execFileSync(process.execPath, [bin, 'new', ...target, '-Name', 'web'], {
      env: agentEnv,
      stdio: 'ignore',
    });
    const prompt = /PS \/home\/\S+> $/m;
    const held = [];
    const fresh = [];
    const pwsh = [];
    const nodeStart = [];
    await toFirstPrompt(process.execPath, [bin, 'enter', '-Name', 'web'], agentEnv, prompt);
    for (let i = 0; i < repeat; i++) {
      nodeStart.push(
        await toFirstPrompt(
          process.execPath,
          ['-e', 'process.stdout.write("PS /home/floor> ")'],
          agentEnv,
          prompt,
        ),
      );
      held.push(await toFirstPrompt(process.execPath, [bin, 'enter', '-Name', 'web'], agentEnv, prompt));
      fresh.push(await toFirstPrompt(process.execPath, [bin, 'enter', ...target], agentEnv, prompt));
      pwsh.push(
        await toFirstPrompt(
          'pwsh',
          [
            '-NoLogo',
            '-NoProfile',
            '-NoExit',
            '-c',
            `Enter-PSSession -HostName ${peer.user}@127.0.0.1 -Port ${peer.port} -KeyFilePath '${peer.keys.ed25519}' -Options @{UserKnownHostsFile='${peer.knownHostsPath}'}`,
          ],
          env,
          /\]: PS \/home\/\S+> $/m,
        ),
      );
    }
    console.log(
      '\n| to the first prompt (median) | ms | vs psremote enter -Name | target |\n|---|---|---|---|',
    );
    const h = median(held);
    for (const [label, v, target] of [
      ['psremote enter -Name web (held by the agent)', h, '< 150 ms'],
      ['psremote enter -HostName (fresh session)', median(fresh), '-'],
      ["pwsh's Enter-PSSession -HostName (pwsh start-up included)", median(pwsh), '-'],
      ['floor: node printing a prompt, same terminal (start-up of any Node CLI)', median(nodeStart), '-'],
    ])
      console.log(`| ${label} | ${fmt(v)} | ${(v / h).toFixed(2)}x | ${target} |`);
    const [load1] = loadavg();
    console.log(
      `\nenter -Name web is ${fmt(h - median(nodeStart))} above the floor (${(h / median(nodeStart)).toFixed(2)}x node's start-up); runs: ${held.map((x) => x.toFixed(0)).join(' ')} ms, floor runs: ${nodeStart.map((x) => x.toFixed(0)).join(' ')} ms; load average ${load1.toFixed(2)} on ${availableParallelism()} cores`,
    );
    execFileSync(process.execPath, [bin, 'remove', '-Name', 'web'], { env: agentEnv, stdio: 'ignore' });
  } finally {
    try {
      const pid = Number(execFileSync('cat', [join(dir, 'agent.pid')], { encoding: 'utf8' }));
      if (pid) process.kill(pid, 'SIGTERM');
    } catch {
      // The agent had already ended.
    }
    rmSync(dir, { recursive: true, force: true });
    await peer.stop();
  }

  const n = Number(process.env.BENCH_AGENT_SESSIONS ?? 1000);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'agent-memory.mjs'), String(n)], {
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`agent-memory.mjs failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout);
  console.log(
    `\nMemory per idle session (${n} sessions on the in-memory fake, one process, as the agent holds them): RSS ${fmt(m.rssPerSessionKB, 'KB')}, heap ${fmt(m.heapPerSessionKB, 'KB')} (target <= 1 MB); all ${n} open in ${fmt(m.openMs)}`,
  );
}
