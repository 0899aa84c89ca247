#!/usr/bin/env node
// Prints the hostile-server table: every scenario in every mode, run one at a time against the built CLI with a
// hard cap (killed after CAP seconds), with its time, peak RSS, exit and the first error line.
//   node packages/cli/test/hostile/measure.mjs [--cap 60] [--only name,name] [--modes json,text,enter]
import { runScenario } from './run-cli.mjs';
import { SCENARIOS } from './scenarios.mjs';

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const capMs = Number(opt('--cap') ?? 60) * 1000;
const only = opt('--only')?.split(',');
const modes = opt('--modes')?.split(',');

/** The first line of stderr that says what happened (an error id, a message), shortened. */
function outcome(r) {
  if (r.timedOut) return `killed after ${capMs / 1000} s`;
  const lines = r.stderr.head.split('\n');
  const bad = lines.find((l) => /internal error|Maximum call stack|heap out of memory|^\s+at /.test(l));
  if (bad) return bad.trim().slice(0, 70);
  const id = lines.find((l) => /FullyQualifiedErrorId/.test(l));
  if (id)
    return id
      .replace(/.*FullyQualifiedErrorId\s*:\s*/, 'FQID ')
      .trim()
      .slice(0, 70);
  return `stdout ${r.stdout.bytes} B`;
}

console.log('| scenario | mode | time (s) | peak RSS (MB) | exit | outcome |');
console.log('|---|---|---:|---:|---|---|');
let worstRss = { v: 0, at: '' };
let worstMs = { v: 0, at: '' };
for (const s of SCENARIOS) {
  if (only && !only.includes(s.name)) continue;
  for (const mode of s.modes) {
    if (modes && !modes.includes(mode)) continue;
    const r = await runScenario({
      scenario: s.scenario ?? s.name,
      mode,
      capMs,
      ...(s.sigintAtMs ? { sigintAtMs: s.sigintAtMs } : {}),
      ...(s.sigintFrom ? { sigintFrom: s.sigintFrom } : {}),
      ...(s.slowReaderMs ? { slowReaderMs: s.slowReaderMs } : {}),
      ...(s.closeStdout ? { closeStdout: true } : {}),
    });
    const exit = r.timedOut ? 'SIGKILL' : r.signal ? r.signal : String(r.code);
    console.log(
      `| ${s.name} | ${mode} | ${(r.ms / 1000).toFixed(1)} | ${r.peakRssMb} | ${exit} | ${outcome(r).replace(/\|/g, '\\|')} |`,
    );
    if (r.peakRssMb > worstRss.v) worstRss = { v: r.peakRssMb, at: `${s.name}/${mode}` };
    if (r.ms > worstMs.v) worstMs = { v: r.ms, at: `${s.name}/${mode}` };
  }
}
console.log(
  `\nlargest peak RSS: ${worstRss.v} MB (${worstRss.at}); longest time: ${(worstMs.v / 1000).toFixed(1)} s (${worstMs.at})`,
);
