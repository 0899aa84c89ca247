import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import type { FieldDescription } from '../../src/host/host-ui.ts';
import { RecordingHostUi } from '../../src/host/recording-host-ui.ts';
import { parseArguments } from '../../src/parameters/arguments.ts';
import { bindEnterPSSession } from '../../src/parameters/bind.ts';

/** Also keeps each Prompt call's fields and each call's AbortSignal. */
class FakeHostUi extends RecordingHostUi {
  readonly fields: FieldDescription[][] = [];
  readonly signals: Array<AbortSignal | undefined> = [];
  readonly userNames: string[] = [];
  override async prompt(
    caption: string,
    message: string,
    fields: readonly FieldDescription[],
    signal?: AbortSignal,
  ) {
    this.fields.push([...fields]);
    this.signals.push(signal);
    return super.prompt(caption, message, fields);
  }
  override async promptForCredential(
    caption: string,
    message: string,
    userName: string,
    _targetName: string,
    signal?: AbortSignal,
  ) {
    this.userNames.push(userName);
    this.signals.push(signal);
    return super.promptForCredential(caption, message);
  }
}

async function bind(words: string[], ui: FakeHostUi, signal?: AbortSignal) {
  return bindEnterPSSession(parseArguments(words), { interactive: true, hostUi: ui, signal }).catch(
    (e: unknown) => {
      if (isPSRemotingError(e)) return { errorId: e.errorId, category: e.category, message: e.message };
      throw e;
    },
  );
}

describe('binding with a person at the keyboard', () => {
  it('-VMName alone asks for the mandatory Credential through Prompt, with a PSCredential field', async () => {
    const ui = new FakeHostUi({ answers: [{ Credential: { userName: 'DOM\\me', password: 'pw' } }] });
    expect(await bind(['-VMName', 'vm1'], ui)).toEqual({
      parameterSet: 'VMName',
      bound: { VMName: 'vm1', Credential: { userName: 'DOM\\me', password: 'pw' } },
    });
    expect(ui.fields[0]?.map((f) => [f.name, f.parameterTypeFullName])).toEqual([
      ['Credential', 'System.Management.Automation.PSCredential'],
    ]);
  });
  it('-Credential DOM\\me offers the user name to PromptForCredential and passes the AbortSignal', async () => {
    const ui = new FakeHostUi({ answers: [{ userName: 'DOM\\me', password: 'pw' }] });
    const ac = new AbortController();
    const r = await bind(['srv01', '-Credential', 'DOM\\me'], ui, ac.signal);
    expect(r).toMatchObject({ parameterSet: 'ComputerName', bound: { Credential: { password: 'pw' } } });
    expect(ui.userNames).toEqual(['DOM\\me']);
    expect(ui.signals).toEqual([ac.signal]);
    expect(ui.records[0]).toMatchObject({
      caption: 'PowerShell credential request',
      message: 'Enter your credentials.',
    });
  });
  it('a dismissed credential prompt binds null once the set makes Credential optional', async () => {
    const ui = new FakeHostUi({ answers: [null] });
    expect(await bind(['-ComputerName', 'srv01', '-Credential', 'DOM\\me'], ui)).toEqual({
      parameterSet: 'ComputerName',
      bound: { ComputerName: 'srv01', Credential: null },
    });
  });
  it('a dismissed credential prompt is NullNotAllowed while a set where Credential is mandatory remains', async () => {
    const ui = new FakeHostUi({ answers: [null, null] });
    // Named parameters bind first: when -Credential binds, the positional srv01 has not narrowed the sets yet.
    expect(await bind(['srv01', '-Credential', 'DOM\\me'], ui)).toMatchObject({
      errorId: 'ParameterArgumentValidationErrorNullNotAllowed',
    });
    expect(await bind(['-VMName', 'vm1', '-Credential', 'DOM\\me'], ui)).toEqual({
      errorId: 'ParameterArgumentValidationErrorNullNotAllowed',
      category: 'InvalidData',
      message: "Cannot bind argument to parameter 'Credential' because it is null.",
    });
  });
  it('-Credential 5 is refused without a prompt', async () => {
    const ui = new FakeHostUi({ answers: [{ userName: 'x', password: 'y' }] });
    expect(await bind(['srv01', '-Credential', '5'], ui)).toMatchObject({
      errorId: 'ParameterArgumentTransformationError',
      message: "Cannot process argument transformation on parameter 'Credential'. userName",
    });
    expect(ui.records).toEqual([]);
  });
  it('the authentication setters refuse a credential with NegotiateWithImplicitCredential, naming the later one', async () => {
    const ui = new FakeHostUi({ answers: [{ userName: 'u', password: 'p' }] });
    expect(
      await bind(['srv01', '-Authentication', 'NegotiateWithImplicitCredential', '-Credential', 'u'], ui),
    ).toEqual({
      errorId: 'ParameterBindingFailed',
      category: 'WriteError',
      message:
        'Cannot bind parameter \'Credential\' to the target. Exception setting "Credential": "A Credential cannot be specified when NegotiateWithImplicitCredential is specified."',
    });
    const ui2 = new FakeHostUi({ answers: [{ userName: 'u', password: 'p' }] });
    expect(await bind(['srv01', '-Credential', 'u', '-CertificateThumbprint', 'AB'], ui2)).toMatchObject({
      errorId: 'ParameterBindingFailed',
      message:
        'Cannot bind parameter \'CertificateThumbprint\' to the target. Exception setting "CertificateThumbprint": "A CertificateThumbPrint cannot be specified when Credential is specified."',
    });
  });
  it('an unanswered mandatory prompt is MissingMandatoryParameter; an answer is converted and validated', async () => {
    const ui = new FakeHostUi({ answers: [{}] });
    expect(await bind(['-UserName', 'me'], ui)).toMatchObject({ errorId: 'MissingMandatoryParameter' });
    const ui2 = new FakeHostUi({ answers: [{ HostName: 'box' }] });
    expect(await bind(['-UserName', 'me', '-Port', '2222'], ui2)).toEqual({
      parameterSet: 'SSHHost',
      bound: { UserName: 'me', Port: 2222, HostName: 'box' },
    });
  });
});
