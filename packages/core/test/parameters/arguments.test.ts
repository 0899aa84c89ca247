import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { parseArguments, parseNumber, parseValue } from '../../src/parameters/arguments.ts';

function parseFailure(f: () => unknown): { errorId: string; message: string } | undefined {
  try {
    f();
  } catch (e) {
    if (isPSRemotingError(e)) return { errorId: e.errorId, message: e.message };
    throw e;
  }
  return undefined;
}

describe('parseNumber (about_Numeric_Literals)', () => {
  it.each([
    ['5', 'int', 5],
    ['+7', 'int', 7],
    ['0x1F', 'int', 31],
    ['0xFFFFFFFF', 'int', -1],
    ['0b101', 'int', 5],
    ['5u', 'int', 5],
    ['5ul', 'int', 5],
    ['5s', 'int', 5],
    ['5y', 'int', 5],
    ['5uy', 'int', 5],
    ['5n', 'int', 5],
    ['1kb', 'int', 1024],
    ['1e3', 'double', 1000],
    ['.5', 'double', 0.5],
    ['5d', 'double', 5],
  ] as const)('%s is a %s of value %d', (text, kind, value) => {
    expect(parseNumber(text)).toMatchObject({ kind, value });
  });
  it('5l and numbers beyond Int32 are longs', () => {
    expect(parseNumber('5l')).toMatchObject({ kind: 'long', value: 5n });
    expect(parseNumber('99999999999')).toMatchObject({ kind: 'long', value: 99999999999n });
  });
  it('text that is not a number literal is not one', () => {
    for (const t of ['5x', '0x', '1_000', 'kb', '0b2', '--5', '5kbkb'])
      expect(parseNumber(t)).toBeUndefined();
  });
});

describe('parseValue', () => {
  it('keeps command-mode words as strings (a GUID, -5, a host with a port)', () => {
    expect(parseValue('1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toEqual({
      kind: 'string',
      value: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    });
    expect(parseValue('-5')).toEqual({ kind: 'string', value: '-5' });
    expect(parseValue('me@box:22')).toEqual({ kind: 'string', value: 'me@box:22' });
  });
  it('reads the backtick escapes of bare words and double-quoted strings, not of single-quoted ones', () => {
    expect(parseValue('a`b')).toEqual({ kind: 'string', value: 'a\b' });
    expect(parseValue('a`qb')).toEqual({ kind: 'string', value: 'aqb' });
    expect(parseValue('"x`ty`u{263A}"')).toEqual({ kind: 'string', value: 'x\ty\u263a' });
    expect(parseValue("'x`ty'")).toEqual({ kind: 'string', value: 'x`ty' });
    expect(parseValue('"say ""hi"""')).toEqual({ kind: 'string', value: 'say "hi"' });
  });
  it('reads @() arrays and hashtables with quoted keys and trailing semicolons', () => {
    expect(parseValue("@('a','b')")).toEqual({
      kind: 'array',
      items: [
        { kind: 'string', value: 'a' },
        { kind: 'string', value: 'b' },
      ],
    });
    expect(parseValue('@()')).toEqual({ kind: 'array', items: [] });
    expect(parseValue("@{'Ciphers'='aes256-ctr';}")).toEqual({
      kind: 'hashtable',
      entries: [['Ciphers', { kind: 'string', value: 'aes256-ctr' }]],
    });
  });
  it('an unset $env: variable is $null; other variables are a ParserError', () => {
    expect(parseValue('$env:PSREMOTE_NOT_SET', {})).toEqual({ kind: 'null' });
    expect(parseFailure(() => parseValue('$cred'))?.errorId).toBe('ParserError');
  });
  it('refuses a missing array element and a hashtable entry without =', () => {
    expect(parseFailure(() => parseValue('a,,b'))?.errorId).toBe('ParserError');
    expect(parseFailure(() => parseValue('@{a}'))?.errorId).toBe('ParserError');
  });
  it('hostile input is a ParserError, not a stack overflow or a RangeError', () => {
    const deep = `${'('.repeat(5000)}1${')'.repeat(5000)}`;
    const e = parseFailure(() => parseValue(deep));
    expect(e?.errorId).toBe('ParserError');
    expect(e?.message.length).toBeLessThan(400);
    expect(parseFailure(() => parseValue('"`u{110000}"'))?.errorId).toBe('ParserError');
  });
});

describe('parseArguments', () => {
  it('-Name: value takes the next word, whatever it looks like', () => {
    expect(parseArguments(['-ComputerName:', '-Port'])).toEqual([
      {
        kind: 'parameter',
        name: 'ComputerName',
        value: { kind: 'string', value: '-Port' },
        text: '-ComputerName: -Port',
      },
    ]);
  });
  it("a trailing -Name: is ParameterRequiresArgument, as pwsh's parser says", () => {
    expect(parseFailure(() => parseArguments(['-ComputerName:']))).toEqual({
      errorId: 'ParameterRequiresArgument',
      message: 'Parameter -ComputerName: requires an argument.',
    });
  });
  it('an en dash, em dash or horizontal bar starts a parameter like a hyphen', () => {
    for (const dash of ['\u2013', '\u2014', '\u2015'])
      expect(parseArguments([`${dash}UseSSL`])).toEqual([
        { kind: 'parameter', name: 'UseSSL', text: `${dash}UseSSL` },
      ]);
  });
  it('a bare -- is dropped and ends the parameters: the words after it are values, even -UseSSL and --', () => {
    expect(parseArguments(['srv01', '--', '-UseSSL', '--', '5'])).toEqual([
      { kind: 'value', value: { kind: 'string', value: 'srv01' }, text: 'srv01' },
      { kind: 'value', value: { kind: 'string', value: '-UseSSL' }, text: '-UseSSL' },
      { kind: 'value', value: { kind: 'string', value: '--' }, text: '--' },
      { kind: 'value', value: { kind: 'int', value: 5, text: '5' }, text: '5' },
    ]);
  });
  it('signed words (+5, -5, -.5) are strings in command mode; .5 is a Double', () => {
    expect(parseArguments(['+5', '-5', '-.5', '.5']).map((a) => a.kind === 'value' && a.value.kind)).toEqual([
      'string',
      'string',
      'string',
      'double',
    ]);
  });
  it('a lone hyphen and a word with spaces (quotes removed by the shell) are values', () => {
    expect(parseArguments(['-', 'srv 01'])).toEqual([
      { kind: 'value', value: { kind: 'string', value: '-' }, text: '-' },
      { kind: 'value', value: { kind: 'string', value: 'srv 01' }, text: 'srv 01' },
    ]);
  });
  it('the same words with the quotes kept by the shell give the same values', () => {
    const plain = parseArguments(['-ComputerName', 'srv01', '-Credential', 'DOM\\me']);
    const quoted = parseArguments(['-ComputerName', "'srv01'", '-Credential', '"DOM\\me"']);
    expect(quoted.map((a) => (a.kind === 'parameter' ? a.name : a.value))).toEqual(
      plain.map((a) => (a.kind === 'parameter' ? a.name : a.value)),
    );
  });
});
