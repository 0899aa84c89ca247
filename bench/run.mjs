#!/usr/bin/env node
// pnpm bench: psremote against pwsh's own client on the same transport (a local `pwsh -s` child), in one run.
// Prints figures and ratios; never a pass/fail test. Sizes: BENCH_BULK (default 1000000), BENCH_RICH (100000),
// BENCH_REPEAT (5).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
const bulk = Number(process.env.BENCH_BULK ?? 1_000_000);
const rich = Number(process.env.BENCH_RICH ?? 100_000);
const repeat = Number(process.env.BENCH_REPEAT ?? 5);

function runJsonLines(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

const byName = (rows) => Object.fromEntries(rows.map((r) => [r.name, r]));

console.log(`psremote bench: bulk=${bulk} rich=${rich} repeat=${repeat} (node ${process.version})`);
const ours = byName(
  runJsonLines(process.execPath, [
    join(here, 'psremote-client.mjs'),
    String(repeat),
    String(bulk),
    String(rich),
  ]),
);
const theirs = byName(
  runJsonLines('pwsh', [
    '-NoProfile',
    '-NonInteractive',
    '-File',
    join(here, 'pwsh-client.ps1'),
    '-Repeat',
    String(repeat),
    '-Bulk',
    String(bulk),
    '-Rich',
    String(rich),
  ]),
);
const clixml = byName(runJsonLines(process.execPath, [join(here, 'clixml-throughput.mjs')]));

const fmt = (n, unit = 'ms') => (n === undefined ? '-' : `${n.toFixed(1)} ${unit}`);
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
const rows = [
  ['session open (median)', 'open', 'ms', '<= 1.0x'],
  ['round trip of 1 (median)', 'roundtrip', 'ms', '<= 1.0x'],
  [`1..${bulk} received: wall`, 'bulk', 'ms', '<= 0.7x'],
  [`1..${bulk} received: client CPU`, 'bulk', 'cpuMs', '<= 0.5x'],
  [`${rich} rich objects: wall`, 'rich', 'ms', '<= 0.7x'],
  [`${rich} rich objects: client CPU`, 'rich', 'cpuMs', '<= 0.5x'],
];
console.log('\n| measure | psremote | pwsh client | ratio | target |\n|---|---|---|---|---|');
for (const [label, key, field, target] of rows) {
  const a = ours[key]?.[field];
  const b = theirs[key]?.[field];
  console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} | ${target} |`);
}
console.log(
  `| peak RSS (whole client process) | ${fmt(ours.rich?.peakRssMB, 'MB')} | ${fmt(theirs.rich?.peakRssMB, 'MB')} | ${ratio(ours.rich?.peakRssMB, theirs.rich?.peakRssMB)} | flat while streaming |`,
);
if (ours.bulk?.rssSamplesMB)
  console.log(`\npsremote RSS while streaming 1..${bulk} (MB, sampled): ${ours.bulk.rssSamplesMB.join(' ')}`);
if (clixml.deserialize)
  console.log(
    `CLIXML deserialization: ${clixml.deserialize.mbPerSec.toFixed(1)} MB/s over ${clixml.deserialize.mb.toFixed(1)} MB (target >= 100 MB/s)`,
  );
