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
  it('--session-option with no value is a MissingArgument error', () => {
    expect(splitArguments(['enter', '--session-option']).options.error?.errorId).toBe('MissingArgument');
    expect(splitArguments(['enter', '--session-option', '-HostName', 'x']).options.error?.errorId).toBe(
      'MissingArgument',
    );
  });
  it('--pwsh with no value is a MissingArgument error, not an ignored option', () => {
    for (const argv of [
      ['enter', '--pwsh'],
      ['enter', '--pwsh='],
      ['enter', '--pwsh', '--dry-run'],
      ['invoke', '--pwsh', '-Command', '1'],
    ]) {
      const { options } = splitArguments(argv);
      expect(options.error?.errorId, argv.join(' ')).toBe('MissingArgument');
      expect(options.error?.fullyQualifiedErrorId).toBe('MissingArgument,psremote');
      expect(options.error?.message).toContain("'--pwsh'");
      expect(options.pwsh).toBeUndefined();
    }
    // The token after a missing value stays what it is.
    const r = splitArguments(['invoke', '--pwsh', '-Command', '1']);
    expect(r.psArguments).toEqual(['-Command', '1']);
    expect(splitArguments(['enter', '--pwsh', '--dry-run']).options.dryRun).toBe(true);
    // A value that looks like a parameter can still be given joined.
    expect(splitArguments(['enter', '--pwsh=-odd']).options.pwsh).toBe('-odd');
    expect(splitArguments(['enter', '--pwsh', '/opt/pwsh']).options.error).toBeUndefined();
  });
  it('a flag given a value is an error, not silently the flag', () => {
    const { options } = splitArguments(['invoke', '--json=false']);
    expect(options.error?.errorId).toBe('OptionTakesNoValue');
    expect(options.error?.message).toContain('--json=false');
    expect(splitArguments(['enter', '--dry-run']).options.error).toBeUndefined();
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
