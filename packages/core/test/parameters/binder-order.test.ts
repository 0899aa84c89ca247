// When one argument list has several problems, the error pwsh 7.6.9 reports (recorded with the binder oracle,
// scripts/binder-oracle.ps1) follows its binding order; the conformance fixture holds thousands more such lists.
import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { parseArguments } from '../../src/parameters/arguments.ts';
import { bindEnterPSSession } from '../../src/parameters/bind.ts';

async function bind(words: string[]): Promise<unknown> {
  try {
    return await bindEnterPSSession(parseArguments(words), { interactive: false });
  } catch (e) {
    if (isPSRemotingError(e)) return e.errorId;
    throw e;
  }
}

describe("the binder reports several problems in PowerShell's order", () => {
  it('a word that looks like a parameter but matches none is the previous parameter value', async () => {
    expect(await bind(['-HostName', 'h', '-IdentityFilePath', '-WhatIf'])).toEqual({
      parameterSet: 'SSHHost',
      bound: { HostName: 'h', KeyFilePath: '-WhatIf' },
    });
  });
  it.each([
    // Named arguments are converted as they bind: the bad value wins over the conflicting sets.
    [['-ComputerName', 'srv01', '-HostName', 'h', '-Port', 'abc'], 'CannotConvertArgumentNoMessage'],
    // ... and over an unknown name before it.
    [['-Bogus', '-Port', 'abc'], 'CannotConvertArgumentNoMessage'],
    // Conflicting sets are found before unknown names are reported, wherever the unknown name is.
    [['-Bogus', 'x', '-ComputerName', 'a', '-HostName', 'b'], 'AmbiguousParameterSet'],
    [['-ComputerName', 'a', '-HostName', 'b', '-Bogus'], 'AmbiguousParameterSet'],
    // Switch values narrow the sets like any other argument.
    [['-UseSSL:$false', '-SSHTransport:$true', '-HostName', 'h'], 'AmbiguousParameterSet'],
    // One at a time: the first -Port fails validation before the second is seen; a good first one makes the
    // second ParameterAlreadyBound.
    [['srv01', '-Port', '0', '-Port', '5'], 'ParameterArgumentValidationError'],
    [['-Port', '5', '-Port', '0', 'srv01'], 'ParameterAlreadyBound'],
    // The first argument left over decides: a positional before an unknown name.
    [['srv01', 'extra', '-Bogus'], 'PositionalParameterNotFound'],
    // An ambiguous prefix fails while names are paired with their arguments, before anything binds.
    [['-C', 'x', '-Bogus'], 'AmbiguousParameter'],
  ])('%j fails with %s', async (words, errorId) => {
    expect(await bind(words)).toBe(errorId);
  });
});
