#!/usr/bin/env node
// Regenerates test/fixtures/binder-conformance.json from real pwsh (7.6.9): node scripts/generate-binder-fixture.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cases from './binder-cases.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pwsh = process.env.PSREMOTE_PWSH ?? 'pwsh';
const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
const version = execFileSync(
  pwsh,
  ['-NoProfile', '-NonInteractive', '-c', '$PSVersionTable.PSVersion.ToString()'],
  { env, encoding: 'utf8' },
).trim();
const out = execFileSync(pwsh, ['-NoProfile', '-NonInteractive', '-File', join(here, 'binder-oracle.ps1')], {
  env,
  input: JSON.stringify(cases),
  encoding: 'utf8',
  maxBuffer: 256 << 20,
});
const results = out
  .split('\n')
  .filter((l) => l.includes('{"args":'))
  // A credential prompt pwsh writes before failing in NonInteractive mode shares the line: cut it off.
  .map((l) => JSON.parse(l.slice(l.indexOf('{"args":'))));
if (results.length !== cases.length)
  throw new Error(`pwsh answered ${results.length} of ${cases.length} cases`);
const file = join(here, '..', 'test', 'fixtures', 'binder-conformance.json');
// One case a line: the file stays small and a regenerated fixture diffs case by case.
const lines = results.map((r) => JSON.stringify(r)).join(',\n');
writeFileSync(file, `{"generatedBy": ${JSON.stringify(`pwsh ${version}`)}, "cases": [\n${lines}\n]}\n`);
console.log(`${results.length} cases written to ${file} (pwsh ${version})`);
