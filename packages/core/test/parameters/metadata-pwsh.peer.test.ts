// The committed metadata and SYNTAX text, compared with what the installed pwsh reports right now.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTER_PSSESSION_METADATA } from '../../src/parameters/enter-pssession-metadata.ts';
import { renderSyntax } from '../../src/parameters/syntax.ts';

const pwsh = [
  process.env.PSREMOTE_PWSH,
  join(process.env.HOME ?? '', '.dotnet', 'tools', 'pwsh'),
  ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'pwsh')),
].find((c): c is string => c !== undefined && c !== '' && existsSync(c));
const requirePeers = process.env.PSREMOTE_REQUIRE_PEERS === '1';
if (!pwsh && !requirePeers)
  console.warn('metadata-pwsh: skipped, pwsh is not installed (PATH, ~/.dotnet/tools)');

function run(args: string[]): string {
  return execFileSync(pwsh as string, ['-NoProfile', '-NonInteractive', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe.skipIf(!pwsh && !requirePeers)('Enter-PSSession metadata and syntax, against real pwsh', () => {
  it('the committed metadata is what scripts/dump-metadata.ps1 reads from pwsh', () => {
    expect(pwsh, 'pwsh is required (PSREMOTE_REQUIRE_PEERS=1)').toBeDefined();
    const live = JSON.parse(
      run(['-File', new URL('../../scripts/dump-metadata.ps1', import.meta.url).pathname]),
    );
    expect(live).toEqual(JSON.parse(JSON.stringify(ENTER_PSSESSION_METADATA)));
  });
  it('renderSyntax() is Get-Command Enter-PSSession -Syntax, one block per set', () => {
    const lines = (s: string) =>
      s
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '');
    expect(lines(renderSyntax())).toEqual(lines(run(['-c', 'Get-Command Enter-PSSession -Syntax'])));
  });
});
