#!/usr/bin/env node
// pnpm bench: psremote against pwsh's own client on the same transport, in one run: a local `pwsh -s` child,
// then PowerShell over SSH on a private sshd (transport-ssh's test peer). Prints figures and ratios; never a
// pass/fail test. Then a container session through podman's Docker API beside `podman exec` (pwsh has no client
// for containers off Windows). Sizes: BENCH_BULK (default 1000000), BENCH_RICH (100000), BENCH_REPEAT (5);
// Then WinRM: psremote's WSMan transport against the gss-ntlmssp test endpoint (NTLM, sealed) beside the same pwsh
// over the process transport. The session agent (bench/agent.mjs): a held session entered vs a fresh one, and memory
// per idle session. BENCH_LOCAL=0, BENCH_SSH=0, BENCH_AGENT=0, BENCH_CONTAINER=0 and BENCH_WINRM=0 leave a part out.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentSection } from './agent.mjs';
import { importPeer } from './import-peer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
const bulk = Number(process.env.BENCH_BULK ?? 1_000_000);
const rich = Number(process.env.BENCH_RICH ?? 100_000);
const repeat = Number(process.env.BENCH_REPEAT ?? 5);

function runJsonLines(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.stderr.write(r.stdout);
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .map((o) => [o.name, o]),
  );
}

const fmt = (n, unit = 'ms') => (n === undefined ? '-' : `${n.toFixed(1)} ${unit}`);
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

function table(ours, theirs, rows) {
  console.log('\n| measure | psremote | pwsh client | ratio | target |\n|---|---|---|---|---|');
  for (const [label, key, field, target] of rows) {
    const a = ours[key]?.[field];
    const b = theirs[key]?.[field];
    console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} | ${target} |`);
  }
  const last = rows[rows.length - 1][1];
  console.log(
    `| peak RSS (whole client process) | ${fmt(ours[last]?.peakRssMB, 'MB')} | ${fmt(theirs[last]?.peakRssMB, 'MB')} | ${ratio(ours[last]?.peakRssMB, theirs[last]?.peakRssMB)} | flat while streaming |`,
  );
  if (ours.bulk?.rssSamplesMB)
    console.log(
      `\npsremote RSS while streaming 1..${bulk} (MB, sampled): ${ours.bulk.rssSamplesMB.join(' ')}`,
    );
}

const client = (args, extraEnv) =>
  runJsonLines(process.execPath, [join(here, 'psremote-client.mjs'), ...args.map(String)], extraEnv);
const pwshClient = (args) =>
  runJsonLines('pwsh', [
    '-NoProfile',
    '-NonInteractive',
    '-File',
    join(here, 'pwsh-client.ps1'),
    ...args.map(String),
  ]);

console.log(`psremote bench: bulk=${bulk} rich=${rich} repeat=${repeat} (node ${process.version})`);
if (process.env.BENCH_LOCAL !== '0') localSection();
if (process.env.BENCH_SSH !== '0') await sshSection();
if (process.env.BENCH_AGENT !== '0') await agentSection(env, repeat);
if (process.env.BENCH_CONTAINER !== '0') await containerSection();
if (process.env.BENCH_WINRM !== '0') await winrmSection();
if (process.env.BENCH_OMI !== '0') await omiSection();

function localSection() {
  console.log('\n## Local session (pwsh -s child)');
  table(client([repeat, bulk, rich]), pwshClient(['-Repeat', repeat, '-Bulk', bulk, '-Rich', rich]), [
    ['session open (median)', 'open', 'ms', '<= 1.0x'],
    ['round trip of 1 (median)', 'roundtrip', 'ms', '<= 1.0x'],
    [`1..${bulk} received: wall`, 'bulk', 'ms', '<= 0.7x'],
    [`1..${bulk} received: client CPU`, 'bulk', 'cpuMs', '<= 0.5x'],
    [`${rich} rich objects: wall`, 'rich', 'ms', '<= 0.7x'],
    [`${rich} rich objects: client CPU`, 'rich', 'cpuMs', '<= 0.5x'],
  ]);
  const clixml = runJsonLines(process.execPath, [join(here, 'clixml-throughput.mjs')]);
  if (clixml.deserialize)
    console.log(
      `CLIXML deserialization: ${clixml.deserialize.mbPerSec.toFixed(1)} MB/s over ${clixml.deserialize.mb.toFixed(1)} MB (target >= 100 MB/s)`,
    );
}

async function sshSection() {
  console.log('\n## PowerShell over SSH (private sshd on 127.0.0.1, ed25519 key)');
  const { startSshPeer } = await importPeer('packages/transport-ssh/test/ssh-peer.ts');
  const peer = await startSshPeer();
  try {
    const ours = client([repeat, bulk, 0], {
      BENCH_SSH: JSON.stringify({
        port: peer.port,
        user: peer.user,
        key: peer.keys.ed25519,
        knownHosts: peer.knownHostsPath,
      }),
    });
    const theirs = pwshClient([
      '-Repeat',
      repeat,
      '-Bulk',
      bulk,
      '-Rich',
      0,
      '-HostName',
      peer.host,
      '-Port',
      peer.port,
      '-UserName',
      peer.user,
      '-KeyFilePath',
      peer.keys.ed25519,
      '-KnownHosts',
      peer.knownHostsPath,
    ]);
    table(ours, theirs, [
      ['session open (median)', 'open', 'ms', '<= 0.8x'],
      ['round trip of 1 (median)', 'roundtrip', 'ms', '<= 1.0x'],
      [`1..${bulk} received: wall`, 'bulk', 'ms', '<= 0.7x'],
      [`1..${bulk} received: client CPU (pwsh: with its ssh child)`, 'bulk', 'cpuMs', '-'],
    ]);
    const starts = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      execFileSync(peer.pwshPath, ['-NoLogo', '-NoProfile', '-NonInteractive', '-c', 'exit'], { env });
      starts.push(performance.now() - t);
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
    console.log(
      `\nFloor: ssh2 handshake+auth ${fmt(ours.handshake?.ms)}, + subsystem channel open ${fmt(ours.channel?.ms)}; server pwsh start-up alone (\`pwsh -NoProfile -c exit\`, median) ${fmt(median(starts))}`,
    );
  } finally {
    await peer.stop();
  }
}

async function containerSection() {
  console.log('\n## Container session (podman Docker API, pwsh bind-mounted into a Debian container)');
  const peerModule = await importPeer('packages/transport-container/test/container-peer.ts');
  const { startContainerPeer, stopContainerPeer, WITH_PWSH, PEERS, podmanEnv } = peerModule;
  const peer = await startContainerPeer();
  const small = Math.min(bulk, 100_000);
  try {
    const ours = client([repeat, small, 0], {
      BENCH_CONTAINER: JSON.stringify({ socket: peer.socket, name: WITH_PWSH }),
    });
    // What `docker exec` costs for the same pwsh: an exec that starts pwsh and exits.
    const execs = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      execFileSync(
        'podman',
        [
          'exec',
          WITH_PWSH,
          join(PEERS, 'pwsh', 'pwsh'),
          '-NoLogo',
          '-NoProfile',
          '-NonInteractive',
          '-c',
          'exit',
        ],
        { env: podmanEnv() },
      );
      execs.push(performance.now() - t);
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
    const exec = median(execs);
    console.log('\n| measure | psremote | `podman exec … pwsh -c exit` | ratio |\n|---|---|---|---|');
    console.log(
      `| session open (median) | ${fmt(ours.open?.ms)} | ${fmt(exec)} | ${ratio(ours.open?.ms, exec)} |`,
    );
    console.log(`| round trip of 1 (median) | ${fmt(ours.roundtrip?.ms)} | - | - |`);
    console.log(`| 1..${small} received: wall | ${fmt(ours.bulk?.ms)} | - | - |`);
    console.log(`| 1..${small} received: client CPU | ${fmt(ours.bulk?.cpuMs)} | - | - |`);
  } finally {
    stopContainerPeer(peer);
  }
}

/** The WS-Management test endpoint of transport-winrm (python3-gssapi + gss-ntlmssp, each shell a `pwsh -s`). */
async function startWsmanEndpoint() {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'psremote-bench-wsman-'));
  const users = join(dir, 'users');
  writeFileSync(users, 'PSREMOTE:psuser:Passw0rd!\n', { mode: 0o600 });
  const script = join(root, 'packages/transport-winrm/test/peer/wsman_endpoint.py');
  const proc = spawn('/usr/bin/python3', [script, '--port', '0', '--users', users], {
    env: { ...env, NTLM_USER_FILE: users },
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  const port = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the WSMan endpoint did not start within 30 s')), 30_000);
    proc.stdout.on('data', (d) => {
      text += d;
      const m = /LISTENING (\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`the WSMan endpoint exited (${code})`)));
  });
  return {
    port,
    stop() {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function winrmSection() {
  console.log(
    '\n## WinRM (WS-Management): NTLM with message sealing, the gss-ntlmssp test endpoint relaying to pwsh -s',
  );
  const small = Math.min(bulk, 200_000);
  const endpoint = await startWsmanEndpoint();
  try {
    const ours = client([repeat, small, 0], {
      BENCH_WINRM: JSON.stringify({ port: endpoint.port, user: 'PSREMOTE\\psuser', password: 'Passw0rd!' }),
    });
    const local = client([repeat, small, 0]);
    console.log(
      '\n| measure | psremote over WinRM | psremote, process transport | ratio (cost of the WSMan layer) | target |',
    );
    console.log('|---|---|---|---|---|');
    for (const [label, key, field, target] of [
      ['session open (median)', 'open', 'ms', 'open < 2 s'],
      ['round trip of 1 (median)', 'roundtrip', 'ms', '-'],
      [`1..${small} received: wall`, 'bulk', 'ms', '-'],
      [`1..${small} received: client CPU`, 'bulk', 'cpuMs', '-'],
    ]) {
      const a = ours[key]?.[field];
      const b = local[key]?.[field];
      console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} | ${target} |`);
    }
    const b = ours.bulk;
    if (b?.receivedMB)
      console.log(
        `\n1..${small} over WinRM: ${b.envelopes} envelopes for ${b.receivedMB.toFixed(2)} MB received (${(b.envelopes / b.receivedMB).toFixed(1)} envelopes per MB), peak RSS ${fmt(b.peakRssMB, 'MB')}`,
      );
  } finally {
    endpoint.stop();
  }
}

/**
 * Microsoft's OMI with PowerShell's WSMan plugin (built by `scripts/setup.sh --peers`): psremote over Basic/HTTP, and
 * with BENCH_WINRM_PWSH=1 PowerShell's own Linux WSMan client against the same server (minutes: OMI holds each
 * empty Receive 30 s). OMI's plugin hands out output slowly, so the bulk case is small (BENCH_OMI_BULK, 200).
 */
async function omiSection() {
  console.log("\n## WinRM against OMI + PowerShell's WSMan plugin (Basic)");
  const { importOmiPeer, measureWinrmPwshClient } = await import('./winrm-pwsh-client.mjs');
  const { startOmi } = await importOmiPeer();
  const n = Number(process.env.BENCH_OMI_BULK ?? 200);
  let peer;
  try {
    peer = await startOmi();
  } catch (e) {
    console.log(`OMI peer unavailable, section skipped: ${e.message}`);
    return;
  }
  let ours;
  try {
    ours = client([Math.min(repeat, 2), n, 0], {
      BENCH_WINRM: JSON.stringify({
        port: peer.httpPort,
        user: peer.user,
        password: peer.password,
        authentication: 'Basic',
        noEncryption: true,
      }),
    });
  } finally {
    await peer.stop();
  }
  let theirs = {};
  if (process.env.BENCH_WINRM_PWSH === '1')
    theirs = await measureWinrmPwshClient({ bulk: n, caseTimeoutSec: 150 });
  console.log("\n| measure | psremote | pwsh's Linux WSMan client | ratio |\n|---|---|---|---|");
  for (const [label, key, field] of [
    ['session open (psremote: median)', 'open', 'ms'],
    ['round trip of 1', 'roundtrip', 'ms'],
    [`1..${n} received: wall`, 'bulk', 'ms'],
    [`1..${n} received: client CPU`, 'bulk', 'cpuMs'],
  ]) {
    const a = ours[key]?.[field];
    const b = theirs[key]?.[field];
    console.log(
      `| ${label} | ${fmt(a)} | ${theirs[key]?.timedOut ? 'did not finish' : fmt(b)} | ${ratio(a, b)} |`,
    );
  }
  if (process.env.BENCH_WINRM_PWSH !== '1')
    console.log(
      "\n(PowerShell's client not run: BENCH_WINRM_PWSH=1 adds it; measured 2026-11-26: open 90-92 s, round trip 120 s.)",
    );
}
