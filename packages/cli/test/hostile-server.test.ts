import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, runScenario } from './hostile/run-cli.mjs';
import { SCENARIOS } from './hostile/scenarios.mjs';

// The hostile-server kit (issue 10): the built CLI against a fake `pwsh -s` that sends hostile data (see
// hostile/scenarios.mjs). Each run is bounded in time and peak RSS, ends with the documented exit status and a
// PowerShell-style message, never an internal error or a stack trace.

const MAX_RSS_MB = 300;
const DEFAULT_WITHIN_MS = 20_000;
const built = existsSync(BIN);

const BAD_STDERR = /internal error|Maximum call stack|heap out of memory|^\s+at .+:\d+:\d+\)?$/m;

describe.skipIf(!built)('psremote against a hostile server', () => {
  for (const s of SCENARIOS) {
    for (const mode of s.modes) {
      const title = `${s.name} (${mode}): ${s.about}`;
      const within = s.withinMs ?? DEFAULT_WITHIN_MS;
      it(
        title,
        async () => {
          const r = await runScenario({
            scenario: s.scenario ?? s.name,
            mode,
            capMs: within + 5000,
            ...(s.sigintAtMs ? { sigintAtMs: s.sigintAtMs } : {}),
            ...(s.sigintFrom ? { sigintFrom: s.sigintFrom } : {}),
            ...(s.slowReaderMs ? { slowReaderMs: s.slowReaderMs } : {}),
            ...(s.closeStdout ? { closeStdout: true } : {}),
          });
          const stderr = `${r.stderr.head}\n${r.stderr.tail}`;
          const context = `${s.name}/${mode}: exit ${r.code} ${r.signal ?? ''} after ${r.ms} ms, ${r.peakRssMb} MB\n${stderr.slice(0, 2000)}`;
          expect(r.timedOut, context).toBe(false);
          expect(r.ms, context).toBeLessThan(within);
          expect(r.peakRssMb, context).toBeLessThan(MAX_RSS_MB);
          expect(r.signal, context).toBeNull();
          expect(s.exit, context).toContain(r.code);
          expect(stderr, context).not.toMatch(BAD_STDERR);
          // A failure says what happened the way PowerShell does: psremote's own error with its error id, or the
          // server's error record in pwsh's concise view (`<reason>: <message>`, as Invoke-Command and
          // Enter-PSSession show it).
          if (r.code !== 0 && !s.quiet)
            expect(stderr, context).toMatch(/FullyQualifiedErrorId\s*:\s*\S+|^[A-Za-z][\w.-]*: \S/m);
          if (s.errorId) expect(stderr, context).toMatch(s.errorId);
          if (s.stdout) expect(`${r.stdout.head}${r.stdout.tail}`, context).toMatch(s.stdout);
        },
        within + 15_000,
      );
    }
  }
});
