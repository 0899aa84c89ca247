import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const pwshPath = inject('pwshPath');
const packages = fileURLToPath(new URL('../../', import.meta.url));

/** The library example in core's README, run as a user would run it (against the built packages). */
describe.skipIf(!pwshPath)("core README's library example", () => {
  it('runs and prints what its comments say', () => {
    const readme = readFileSync(join(packages, 'core', 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const dist = (pkg: string) => pathToFileURL(join(packages, pkg, 'dist', 'index.js')).href;
    const code = (example as string)
      .replace("'@psremote/core'", `'${dist('core')}'`)
      .replace("'@psremote/transport-process'", `'${dist('transport-process')}'`);
    const dir = mkdtempSync(join(tmpdir(), 'psremote-example-'));
    try {
      writeFileSync(join(dir, 'example.mjs'), code);
      const out = execFileSync(process.execPath, [join(dir, 'example.mjs')], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, PATH: `${join(pwshPath as string, '..')}:${process.env.PATH}` },
      });
      expect(out).toContain("state: 'Opened'");
      expect(out).toMatch(/^output 1\noutput 2\noutput 3\nwarning careful\nerror oops /m);
      expect(out).toContain("Completed [ 42 ] [ 'hi' ]");
      expect(out.trimEnd().endsWith('Stopped')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
