import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { RecordingHostUi } from '../../src/host/recording-host-ui.ts';
import { parseArguments, parseValue } from '../../src/parameters/arguments.ts';
import { bindEnterPSSession } from '../../src/parameters/bind.ts';
import { renderSyntax } from '../../src/parameters/syntax.ts';

describe('parseArguments', () => {
  it('types words as PowerShell command mode does', () => {
    expect(parseValue('5')).toEqual({ kind: 'int', value: 5, text: '5' });
    expect(parseValue('0x10')).toMatchObject({ kind: 'int', value: 16 });
    expect(parseValue('1kb')).toMatchObject({ kind: 'int', value: 1024 });
    expect(parseValue('2GB')).toMatchObject({ kind: 'long', value: 2147483648n });
    expect(parseValue('5.0')).toMatchObject({ kind: 'double', value: 5 });
    expect(parseValue('-5')).toEqual({ kind: 'string', value: '-5' });
    expect(parseValue('$false')).toEqual({ kind: 'bool', value: false });
    expect(parseValue('$null')).toEqual({ kind: 'null' });
    expect(parseValue("'it''s'")).toEqual({ kind: 'string', value: "it's" });
    expect(parseValue('a,b')).toEqual({
      kind: 'array',
      items: [
        { kind: 'string', value: 'a' },
        { kind: 'string', value: 'b' },
      ],
    });
    expect(parseValue("@{StrictHostKeyChecking='no'; Port=2222}")).toEqual({
      kind: 'hashtable',
      entries: [
        ['StrictHostKeyChecking', { kind: 'string', value: 'no' }],
        ['Port', { kind: 'int', value: 2222, text: '2222' }],
      ],
    });
    expect(parseValue('$env:HOME', { HOME: '/home/x' })).toEqual({ kind: 'string', value: '/home/x' });
  });
  it('splits -Name:value and leaves values alone', () => {
    expect(parseArguments(['-UseSSL:$false', 'srv01'])).toEqual([
      { kind: 'parameter', name: 'UseSSL', value: { kind: 'bool', value: false }, text: '-UseSSL:$false' },
      { kind: 'value', value: { kind: 'string', value: 'srv01' }, text: 'srv01' },
    ]);
  });
  it('refuses variables it cannot know, with a clear error', () => {
    let err: unknown;
    try {
      parseArguments(['$creds']);
    } catch (e) {
      err = e;
    }
    expect(isPSRemotingError(err) && err.errorId).toBe('ParserError');
  });
});

describe('prompts while binding', () => {
  it('-Credential DOM\\me asks for the password through the HostUi', async () => {
    const ui = new RecordingHostUi({ answers: [{ userName: 'DOM\\me', password: 'pw' }] });
    const r = await bindEnterPSSession(parseArguments(['-ComputerName', 'srv01', '-Credential', 'DOM\\me']), {
      interactive: true,
      hostUi: ui,
    });
    expect(r.bound.Credential).toEqual({ userName: 'DOM\\me', password: 'pw' });
    expect(ui.records[0]).toMatchObject({
      kind: 'ask',
      member: 'PromptForCredential',
      caption: 'PowerShell credential request',
    });
  });
  it('a dry run binds -Credential DOM\\me as the user alone: no prompt, no password', async () => {
    const ui = new RecordingHostUi({ answers: [{ userName: 'DOM\\me', password: 'pw' }] });
    const r = await bindEnterPSSession(parseArguments(['-ComputerName', 'srv01', '-Credential', 'DOM\\me']), {
      interactive: false,
      hostUi: ui,
      deferCredentialPrompt: true,
    });
    expect(r.bound.Credential).toEqual({ userName: 'DOM\\me' });
    expect(ui.records).toHaveLength(0);
  });
  it('a missing mandatory parameter is prompted for when interactive', async () => {
    const ui = new RecordingHostUi({ answers: [{ HostName: 'box' }] });
    const r = await bindEnterPSSession(parseArguments(['-UserName', 'me']), {
      interactive: true,
      hostUi: ui,
    });
    expect(r).toEqual({ parameterSet: 'SSHHost', bound: { UserName: 'me', HostName: 'box' } });
    expect(ui.records[0]).toMatchObject({
      member: 'Prompt',
      caption: 'cmdlet Enter-PSSession at command pipeline position 1',
      message: 'Supply values for the following parameters:',
    });
  });
  it('prompted values are validated like typed ones', async () => {
    const ui = new RecordingHostUi({ answers: [{ ContainerId: '' }] });
    await expect(
      bindEnterPSSession(parseArguments(['-RunAsAdministrator']), { interactive: true, hostUi: ui }),
    ).rejects.toMatchObject({
      errorId: 'ParameterArgumentValidationError',
    });
  });
  it('non-interactive: MissingMandatoryParameter with the FullyQualifiedErrorId', async () => {
    const e = await bindEnterPSSession(parseArguments(['-VMName', 'vm1']), { interactive: false }).catch(
      (x: unknown) => x,
    );
    expect(isPSRemotingError(e) && e.fullyQualifiedErrorId).toBe(
      'MissingMandatoryParameter,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
  });
});

describe('renderSyntax', () => {
  it('shows one block per parameter set with positions and mandatory parameters', () => {
    const s = renderSyntax();
    expect(s.split('\n\n')).toHaveLength(10);
    expect(s).toContain('Enter-PSSession [-HostName] <string>');
    expect(s).toContain('[-KeyFilePath <string>]');
    expect(s).toContain('Enter-PSSession [-VMName] <string> [-Credential] <pscredential>');
    expect(s).toContain('[-RunAsAdministrator]');
  });
});
