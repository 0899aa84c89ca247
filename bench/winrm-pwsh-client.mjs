#!/usr/bin/env node
// PowerShell's own Linux WSMan client against the OMI peer: the figures psremote's WinRM transport is compared
// with. pwsh 7 still carries its WSMan client code; what it lacks off Windows is the native library behind it,
// libpsrpclient.so, which the OMI peer's build makes (psl-omi-provider) with OMI's libmi.so. Both are put in a
// directory of links named by LD_LIBRARY_PATH (.NET's DllImport falls back to dlopen, which honours it), so the
// global tool install is left as it is. HTTPS with Basic, as the peer's README found workable; OMI holds every
// empty Receive for 30 s, which is most of the open time.
//   import { measureWinrmPwshClient } from './winrm-pwsh-client.mjs'; const r = await measureWinrmPwshClient();
//   node bench/winrm-pwsh-client.mjs   (BENCH_WINRM_BULK, default 200000; BENCH_WINRM_CASE_TIMEOUT, default 300 s)
// `pnpm bench` runs it in its OMI section with BENCH_WINRM_PWSH=1.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importPeer } from './import-peer.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The OMI peer module (test/peer/omi.ts), compiled for Node into bench/.build/winrm. */
export function importOmiPeer() {
  return importPeer('packages/transport-winrm/test/peer/omi.ts', 'winrm');
}

/**
 * Starts the OMI peer, runs bench/winrm-pwsh-client.ps1 in pwsh with the two native libraries, stops the peer.
 * Resolves to { open, roundtrip, bulk, close? } (each { ms, cpuMs, peakRssMB, count?, timedOut? }: wall time and
 * the CPU of the pwsh process; a case that passes `caseTimeoutSec` is reported with what it had by then and ends
 * the run), or throws with pwsh's output when it fails or takes longer than `timeoutMs`.
 */
export async function measureWinrmPwshClient({
  bulk = 200_000,
  caseTimeoutSec = 300,
  timeoutMs = 1_200_000,
  log = () => {},
} = {}) {
  const { startOmi } = await importOmiPeer();
  const peer = await startOmi();
  const libs = mkdtempSync(join(tmpdir(), 'psremote-psrpclient-'));
  try {
    symlinkSync(join(peer.buildDir, 'psl/src/libpsrpclient.so'), join(libs, 'libpsrpclient.so'));
    symlinkSync(join(peer.buildDir, 'psl/omi/Unix/output/lib/libmi.so'), join(libs, 'libmi.so'));
    const env = {
      ...process.env,
      PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools`,
      LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      // The peer's fixed test password, through the environment of this one child rather than its argv.
      BENCH_WINRM_PASSWORD: peer.password,
    };
    const args = ['-NoProfile', '-NonInteractive', '-File', join(here, 'winrm-pwsh-client.ps1')];
    args.push('-Port', String(peer.httpsPort), '-UserName', peer.user, '-Bulk', String(bulk));
    args.push('-CaseTimeoutSec', String(caseTimeoutSec));
    // Its own process group: the pwsh launcher runs `dotnet pwsh.dll` as a child, and a stalled run must end both.
    const child = spawn('pwsh', args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      log(String(d).trim());
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {}
    }, timeoutMs);
    const code = await new Promise((r) => child.once('close', r));
    clearTimeout(timer);
    const results = Object.fromEntries(
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .map((o) => [o.name, o]),
    );
    if (!results.bulk || (code !== 0 && !results.bulk.timedOut))
      throw new Error(`pwsh's WSMan client run failed (exit ${code}):\n${stdout}\n${stderr}`);
    return results;
  } finally {
    rmSync(libs, { recursive: true, force: true });
    await peer.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bulk = Number(process.env.BENCH_WINRM_BULK ?? 200_000);
  const t0 = performance.now();
  const r = await measureWinrmPwshClient({
    bulk,
    caseTimeoutSec: Number(process.env.BENCH_WINRM_CASE_TIMEOUT ?? 300),
    log: (l) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${l}`),
  });
  const fmt = (n, unit = 'ms') => (n === undefined ? '-' : `${n.toFixed(1)} ${unit}`);
  console.log('\n## PowerShell over WinRM: pwsh 7 WSMan client (libpsrpclient) -> OMI peer, HTTPS, Basic');
  console.log('\n| measure | wall | pwsh CPU |\n|---|---|---|');
  console.log(`| session open | ${fmt(r.open?.ms)} | ${fmt(r.open?.cpuMs)} |`);
  console.log(`| round trip of 1 | ${fmt(r.roundtrip?.ms)} | ${fmt(r.roundtrip?.cpuMs)} |`);
  console.log(
    `| 1..${bulk} received (${r.bulk?.count} objects) | ${fmt(r.bulk?.ms)} | ${fmt(r.bulk?.cpuMs)} |`,
  );
  if (r.bulk?.timedOut)
    console.log(`(1..${bulk} did not complete: ${r.bulk.count} objects in ${fmt(r.bulk.ms)})`);
  console.log(`| Remove-PSSession | ${fmt(r.close?.ms)} | - |`);
  console.log(`| peak RSS of pwsh | ${fmt(r.close?.peakRssMB ?? r.bulk?.peakRssMB, 'MB')} | |`);
}
