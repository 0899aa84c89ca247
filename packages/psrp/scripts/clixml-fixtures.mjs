#!/usr/bin/env node
// Regenerates test/fixtures/clixml-pwsh.json: real pwsh (7.6.9 when the fixtures were written) serializes every
// case of clixml-fixtures.ps1. Usage: node scripts/clixml-fixtures.mjs [path-to-pwsh]
// The live test (src/clixml/fixtures.peer.test.ts) calls generateClixmlFixtures() to check the committed file.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURE_PATH = join(here, '..', 'test', 'fixtures', 'clixml-pwsh.json');

/** Runs the .ps1 with one pwsh process and returns its cases: [{ name, expr, depth, form, volatile, xml }]. */
export function generateClixmlFixtures(pwsh = 'pwsh') {
  const out = execFileSync(
    pwsh,
    ['-NoProfile', '-NonInteractive', '-File', join(here, 'clixml-fixtures.ps1')],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      // A fixed time zone with a non-zero offset (when the machine has tzdata) for the Local DateTime case.
      env: { ...process.env, TZ: 'Europe/Berlin', CLIXML_FIXTURES_PWSH: pwsh, NO_COLOR: '1' },
    },
  );
  return JSON.parse(out);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cases = generateClixmlFixtures(process.argv[2] ?? 'pwsh');
  writeFileSync(FIXTURE_PATH, `${JSON.stringify(cases, null, 1)}\n`);
  process.stdout.write(`wrote ${cases.length} cases to ${FIXTURE_PATH}\n`);
}
