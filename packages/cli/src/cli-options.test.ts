import { describe, expect, it } from 'vitest';
import { splitArguments } from './cli-options.ts';

describe('splitArguments', () => {
  it('takes -- options anywhere and leaves PowerShell arguments untouched', () => {
    const r = splitArguments(['enter', '-HostName', 'me@box', '--dry-run', '-Port', '22', '--json']);
    expect(r.command).toBe('enter');
    expect(r.psArguments).toEqual(['-HostName', 'me@box', '-Port', '22']);
    expect(r.options.dryRun).toBe(true);
    expect(r.options.json).toBe(true);
    expect(r.options.help).toBe(false);
  });
  it('keeps single-dash switches with values for the binder', () => {
    const r = splitArguments(['enter', '-UseSSL:$false', '-Cn', 'srv01', '5']);
    expect(r.psArguments).toEqual(['-UseSSL:$false', '-Cn', 'srv01', '5']);
  });
  it('reads --pwsh with a separate or joined value', () => {
    expect(splitArguments(['enter', '--pwsh', '/opt/pwsh']).options.pwsh).toBe('/opt/pwsh');
    expect(splitArguments(['enter', '--pwsh=/x/pwsh']).options.pwsh).toBe('/x/pwsh');
  });
  it('reads --session-option with a separate or joined value', () => {
    expect(splitArguments(['enter', '--session-option', '@{OpenTimeout=1}']).options.sessionOption).toBe(
      '@{OpenTimeout=1}',
    );
    const r = splitArguments(['invoke', '--session-option=@{A=1}', '-Command', 'x']);
    expect(r.options.sessionOption).toBe('@{A=1}');
    expect(r.psArguments).toEqual(['-Command', 'x']);
  });
  it('collects unknown -- options', () => {
    expect(splitArguments(['enter', '--frobnicate']).options.unknown).toEqual(['--frobnicate']);
  });
  it('--help and --version without a command', () => {
    expect(splitArguments(['--help']).options.help).toBe(true);
    expect(splitArguments(['--version']).options.version).toBe(true);
    expect(splitArguments(['--version']).command).toBeUndefined();
  });
});
