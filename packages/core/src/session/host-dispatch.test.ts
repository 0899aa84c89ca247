import {
  type ChoiceDescriptionInfo,
  consoleColor,
  decodeHostCall,
  deserializeClixml,
  type HostCall,
  hostCallBody,
  hostMethodId,
  hostMethodName,
  PSList,
  PSObject,
  PSPrimitive,
  type PSValue,
  progressRecordObject,
} from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import type { Coordinates, Credential, KeyInfo, RawUi, Size } from '../host/host-ui.ts';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { dispatchHostCall } from './host-dispatch.ts';

const VOID = -100n;

/** A host call as the engine hands it over: the arguments go through the server encoder and our deserializer. */
function hostCall(name: string, args: PSValue[] = [], callId = 5n, methodId = hostMethodId(name)): HostCall {
  const o = deserializeClixml(hostCallBody(callId, methodId, args)) as PSObject;
  const wire = ((o.get('mp') as PSObject).baseValue as PSList).items;
  return {
    callId,
    methodId,
    methodName: hostMethodName(methodId),
    args: wire,
    decoded: decodeHostCall(methodId, wire),
  };
}

const coll = (items: PSValue[]) =>
  new PSObject({
    typeNames: ['System.Collections.ObjectModel.Collection`1', 'System.Object'],
    baseValue: new PSList('LST', items),
  });
const xy = (x: number, y: number) =>
  new PSObject({
    extended: [
      ['x', x],
      ['y', y],
    ],
  });
const wh = (width: number, height: number) =>
  new PSObject({
    extended: [
      ['width', width],
      ['height', height],
    ],
  });
const field = (name: string, parameterTypeName: string) =>
  new PSObject({
    extended: [
      ['name', name],
      ['label', name],
      ['parameterTypeName', parameterTypeName],
      ['parameterTypeFullName', `System.${parameterTypeName}`],
      ['helpMessage', ''],
      ['isMandatory', true],
    ],
  });
const choice = (label: string) =>
  new PSObject({
    extended: [
      ['label', label],
      ['helpMessage', `${label}?`],
    ],
  });

const answered = (value: unknown) => ({ kind: 'respond', result: { value } });
const refused = (message: string) => ({
  kind: 'respond',
  result: { error: { message, errorId: 'RemoteHostExecutionException' } },
});

/** A RecordingHostUi that also keeps the arguments RecordingHostUi drops, and the signals it was given. */
class CapturingHostUi extends RecordingHostUi {
  readonly calls: Array<{ member: string; args: unknown[] }> = [];
  readonly signals: Array<AbortSignal | undefined> = [];
  override async readLine(signal?: AbortSignal): Promise<string> {
    this.signals.push(signal);
    return super.readLine();
  }
  override async promptForCredential(
    caption: string,
    message: string,
    userName?: string,
    targetName?: string,
    signal?: AbortSignal,
  ): Promise<Credential | null> {
    this.calls.push({ member: 'PromptForCredential', args: [caption, message, userName, targetName] });
    this.signals.push(signal);
    return super.promptForCredential(caption, message);
  }
  override async promptForChoice(
    caption: string,
    message: string,
    choices: readonly ChoiceDescriptionInfo[],
    defaultChoice: number,
  ): Promise<number> {
    this.calls.push({ member: 'PromptForChoice', args: [caption, message, choices, defaultChoice] });
    return super.promptForChoice(caption, message, choices, defaultChoice);
  }
  override async promptForChoiceMultiple(
    caption: string,
    message: string,
    choices: readonly ChoiceDescriptionInfo[],
    defaults: readonly number[],
  ): Promise<number[]> {
    this.calls.push({ member: 'PromptForChoiceMultiple', args: [caption, message, choices, defaults] });
    return super.promptForChoiceMultiple(caption, message, choices, defaults);
  }
}

/** A RawUi that keeps what it is set to and the ReadKey options it is asked with. */
class FakeRawUi implements RawUi {
  foregroundColor = 7;
  backgroundColor = 0;
  cursorPosition: Coordinates = { x: 1, y: 2 };
  windowPosition: Coordinates = { x: 0, y: 0 };
  cursorSize = 25;
  bufferSize: Size = { width: 120, height: 3000 };
  windowSize: Size = { width: 120, height: 30 };
  readonly maxWindowSize: Size = { width: 200, height: 60 };
  readonly maxPhysicalWindowSize: Size = { width: 300, height: 90 };
  windowTitle = 'title';
  readonly keyAvailable = true;
  readonly readKeyOptions: number[] = [];
  flushed = 0;
  async readKey(options: number): Promise<KeyInfo> {
    this.readKeyOptions.push(options);
    return { virtualKeyCode: 65, character: 'a', controlKeyState: 0, keyDown: true };
  }
  flushInputBuffer(): void {
    this.flushed++;
  }
}

class RawHostUi extends RecordingHostUi {
  readonly rawUi = new FakeRawUi();
}

describe('dispatchHostCall: the engine-decoded call drives the HostUi (protocols.md 1.6)', () => {
  it('Write*: text and colours reach the HostUi; void calls answer nothing', async () => {
    const ui = new RecordingHostUi();
    const calls = [
      hostCall('Write1', ['a'], VOID),
      hostCall('Write2', [consoleColor(9), consoleColor(1), 'b'], VOID),
      hostCall('Write2', [null, null, 'c'], VOID),
      hostCall('WriteLine1', [], VOID),
      hostCall('WriteLine2', ['d'], VOID),
      hostCall('WriteLine3', [12, 0, 'e'], VOID),
      hostCall('WriteErrorLine', ['err'], VOID),
      hostCall('WriteDebugLine', ['dbg'], VOID),
      hostCall('WriteVerboseLine', ['vrb'], VOID),
      hostCall('WriteWarningLine', ['wrn'], VOID),
      hostCall(
        'WriteProgress',
        [new PSPrimitive('I64', 12n), progressRecordObject({ activity: 'A', percentComplete: 7 })],
        VOID,
      ),
    ];
    for (const c of calls) expect(await dispatchHostCall(c, ui)).toEqual({ kind: 'none' });
    expect(ui.records.slice(0, 6)).toEqual([
      { kind: 'write', text: 'a', foreground: undefined, background: undefined },
      { kind: 'write', text: 'b', foreground: 9, background: 1 },
      // No colour sent: none passed on, the host keeps its own.
      { kind: 'write', text: 'c', foreground: undefined, background: undefined },
      { kind: 'write', text: '\n', foreground: undefined, background: undefined },
      { kind: 'write', text: 'd\n', foreground: undefined, background: undefined },
      { kind: 'write', text: 'e\n', foreground: 12, background: 0 },
    ]);
    expect(ui.records.slice(6, 10)).toEqual([
      { kind: 'error', text: 'err' },
      { kind: 'debug', text: 'dbg' },
      { kind: 'verbose', text: 'vrb' },
      { kind: 'warning', text: 'wrn' },
    ]);
    expect(ui.records[10]).toMatchObject({
      kind: 'progress',
      sourceId: 12n,
      record: { activity: 'A', percentComplete: 7 },
    });
  });

  it('ReadLine and ReadLineAsSecureString: the answer goes back typed, the signal reaches the HostUi', async () => {
    const ui = new CapturingHostUi({ answers: ['typed', 'secret'] });
    const signal = new AbortController().signal;
    expect(await dispatchHostCall(hostCall('ReadLine'), ui, signal)).toEqual(
      answered({ kind: 'string', value: 'typed' }),
    );
    expect(ui.signals).toEqual([signal]);
    expect(await dispatchHostCall(hostCall('ReadLineAsSecureString'), ui)).toEqual(
      answered({ kind: 'secureString', value: 'secret' }),
    );
    // Nothing left to answer: the HostUi's refusal is the reply, never a hang.
    expect(await dispatchHostCall(hostCall('ReadLine'), ui)).toEqual(
      refused('The host does not support ReadLine (no answer queued, non-interactive host).'),
    );
  });

  it('Prompt: one entry per field, SecureString fields answered as SecureStrings', async () => {
    const ui = new RecordingHostUi({ answers: [{ Name: 'n', Pwd: 's' }] });
    const c = hostCall('Prompt', [
      'cap',
      'msg',
      coll([field('Name', 'String'), field('Pwd', 'SecureString')]),
    ]);
    expect(await dispatchHostCall(c, ui)).toEqual(
      answered({
        kind: 'promptResult',
        entries: [
          ['Name', { kind: 'string', value: 'n' }],
          ['Pwd', { kind: 'secureString', value: 's' }],
        ],
      }),
    );
    expect(ui.records).toEqual([{ kind: 'ask', member: 'Prompt', caption: 'cap', message: 'msg' }]);
  });

  it('with the computer name: PowerShell client-side checks (a warning before a secure read, credential captions)', async () => {
    const ui = new RecordingHostUi({
      answers: ['s', { Name: 'n', Pwd: 's' }, { C: { userName: 'u', password: 'p' } }],
    });
    await dispatchHostCall(hostCall('ReadLineAsSecureString'), ui, undefined, 'server1');
    await dispatchHostCall(
      hostCall('Prompt', ['cap', 'msg', coll([field('Name', 'String'), field('Pwd', 'SecureString')])]),
      ui,
      undefined,
      'server1',
    );
    await dispatchHostCall(
      hostCall('Prompt', ['cap', 'msg', coll([field('C', 'System.Management.Automation.PSCredential')])]),
      ui,
      undefined,
      'server1',
    );
    const [w1, a1, w2, a2, a3, ...rest] = ui.records;
    expect(rest).toEqual([]);
    expect(w1).toEqual({
      kind: 'warning',
      text: expect.stringMatching(
        /^A script or application on the remote computer SERVER1 is asking to read a line securely\./,
      ),
    });
    expect(a1).toMatchObject({ kind: 'ask', member: 'ReadLineAsSecureString' });
    expect(w2).toEqual({
      kind: 'warning',
      text: expect.stringMatching(
        /^A script or application on the remote computer SERVER1 is sending a prompt request\./,
      ),
    });
    expect(a2).toEqual({ kind: 'ask', member: 'Prompt', caption: 'cap', message: 'msg' });
    expect(a3).toMatchObject({
      kind: 'ask',
      member: 'Prompt',
      caption: 'PowerShell Credential Request: cap',
    });
    expect((a3 as { message: string }).message).toMatch(
      /^Warning: A script or application on the remote computer SERVER1 is requesting your credentials\.[^\n]*\n\nmsg$/,
    );
    // Without a computer name (a local host), the calls go through unchanged.
    const plain = new RecordingHostUi({ answers: ['s'] });
    await dispatchHostCall(hostCall('ReadLineAsSecureString'), plain);
    expect(plain.records.map((r) => r.kind)).toEqual(['ask']);
  });

  it('with the computer name, PromptForCredential says the remote computer asks; the CredUI default caption (with its blank) stays', async () => {
    const ui = new CapturingHostUi({ answers: [null, null] });
    await dispatchHostCall(
      hostCall('PromptForCredential1', ['c', 'm', 'user', 'target']),
      ui,
      undefined,
      'srv',
    );
    await dispatchHostCall(
      hostCall('PromptForCredential1', ['PowerShell credential request ', 'm', 'user', 'target']),
      ui,
      undefined,
      'srv',
    );
    expect(ui.calls[0]?.args[0]).toBe('PowerShell Credential Request: c');
    expect(ui.calls[0]?.args[1]).toMatch(
      /^Warning: A script or application on the remote computer SRV is requesting/,
    );
    expect(ui.calls[1]?.args[0]).toBe('PowerShell credential request ');
  });

  it('PromptForCredential1 and 2: caption, message, user and target name; a dismissal answers null', async () => {
    const ui = new CapturingHostUi({ answers: [{ userName: 'u', password: 'p' }, null] });
    const signal = new AbortController().signal;
    expect(
      await dispatchHostCall(hostCall('PromptForCredential1', ['c', 'm', 'user', 'target']), ui, signal),
    ).toEqual(answered({ kind: 'credential', userName: 'u', password: 'p' }));
    expect(
      await dispatchHostCall(hostCall('PromptForCredential2', ['c2', 'm2', 'user2', 't2', 1, 0]), ui),
    ).toEqual(answered({ kind: 'value', value: null }));
    expect(ui.calls).toEqual([
      { member: 'PromptForCredential', args: ['c', 'm', 'user', 'target'] },
      { member: 'PromptForCredential', args: ['c2', 'm2', 'user2', 't2'] },
    ]);
    expect(ui.signals).toEqual([signal, undefined]);
  });

  it('PromptForChoice and PromptForChoiceMultipleSelection: choices and defaults as sent', async () => {
    const ui = new CapturingHostUi({ answers: [0, [1]] });
    const choices = coll([choice('&Yes'), choice('&No')]);
    expect(await dispatchHostCall(hostCall('PromptForChoice', ['c', 'm', choices, 1]), ui)).toEqual(
      answered({ kind: 'int32', value: 0 }),
    );
    expect(
      await dispatchHostCall(
        hostCall('PromptForChoiceMultipleSelection', ['c', 'm', choices, coll([0, 1])]),
        ui,
      ),
    ).toEqual(answered({ kind: 'int32Collection', values: [1] }));
    const decoded = [
      { label: '&Yes', helpMessage: '&Yes?' },
      { label: '&No', helpMessage: '&No?' },
    ];
    expect(ui.calls).toEqual([
      { member: 'PromptForChoice', args: ['c', 'm', decoded, 1] },
      { member: 'PromptForChoiceMultiple', args: ['c', 'm', decoded, [0, 1]] },
    ]);
    // No default sent: -1, no default choice.
    const ui2 = new CapturingHostUi({ answers: [1] });
    await dispatchHostCall(hostCall('PromptForChoice', ['c', 'm', choices]), ui2);
    expect(ui2.calls[0]?.args[3]).toBe(-1);
  });

  it('RawUI getters answer from the RawUi', async () => {
    const ui = new RawHostUi();
    const get = (name: string) => dispatchHostCall(hostCall(name), ui);
    expect(await get('GetForegroundColor')).toEqual(answered({ kind: 'color', value: 7 }));
    expect(await get('GetBackgroundColor')).toEqual(answered({ kind: 'color', value: 0 }));
    expect(await get('GetCursorPosition')).toEqual(answered({ kind: 'coordinates', x: 1, y: 2 }));
    expect(await get('GetWindowPosition')).toEqual(answered({ kind: 'coordinates', x: 0, y: 0 }));
    expect(await get('GetCursorSize')).toEqual(answered({ kind: 'int32', value: 25 }));
    expect(await get('GetBufferSize')).toEqual(answered({ kind: 'size', width: 120, height: 3000 }));
    expect(await get('GetWindowSize')).toEqual(answered({ kind: 'size', width: 120, height: 30 }));
    expect(await get('GetWindowTitle')).toEqual(answered({ kind: 'string', value: 'title' }));
    expect(await get('GetMaxWindowSize')).toEqual(answered({ kind: 'size', width: 200, height: 60 }));
    expect(await get('GetMaxPhysicalWindowSize')).toEqual(answered({ kind: 'size', width: 300, height: 90 }));
    expect(await get('GetKeyAvailable')).toEqual(answered({ kind: 'boolean', value: true }));
    const key = { kind: 'keyInfo', virtualKeyCode: 65, character: 'a', controlKeyState: 0, keyDown: true };
    expect(await dispatchHostCall(hostCall('ReadKey', [6]), ui)).toEqual(answered(key));
    expect(await dispatchHostCall(hostCall('ReadKey'), ui)).toEqual(answered(key));
    expect(ui.rawUi.readKeyOptions).toEqual([6, 4]);
  });

  it('RawUI setters set the RawUi; a setter without a usable value keeps what the host has', async () => {
    const ui = new RawHostUi();
    const raw = ui.rawUi;
    const set = async (name: string, arg: PSValue) =>
      expect(await dispatchHostCall(hostCall(name, [arg], VOID), ui)).toEqual({ kind: 'none' });
    await set('SetForegroundColor', consoleColor(3));
    await set('SetBackgroundColor', 4);
    await set('SetCursorPosition', xy(5, 6));
    await set('SetWindowPosition', xy(7, 8));
    await set('SetCursorSize', 50);
    await set('SetBufferSize', wh(80, 25));
    await set('SetWindowSize', wh(70, 20));
    await set('SetWindowTitle', 'new title');
    expect(raw).toMatchObject({
      foregroundColor: 3,
      backgroundColor: 4,
      cursorPosition: { x: 5, y: 6 },
      windowPosition: { x: 7, y: 8 },
      cursorSize: 50,
      bufferSize: { width: 80, height: 25 },
      windowSize: { width: 70, height: 20 },
      windowTitle: 'new title',
    });
    await set('SetForegroundColor', null);
    await set('SetBackgroundColor', 'x');
    await set('SetCursorSize', null);
    expect(raw).toMatchObject({ foregroundColor: 3, backgroundColor: 4, cursorSize: 50 });
    expect(await dispatchHostCall(hostCall('FlushInputBuffer', [], VOID), ui)).toEqual({ kind: 'none' });
    expect(raw.flushed).toBe(1);
  });

  it('RawUI members without a RawUi: a void call answers nothing, any other is refused', async () => {
    const ui = new RecordingHostUi();
    expect(await dispatchHostCall(hostCall('SetForegroundColor', [3], VOID), ui)).toEqual({ kind: 'none' });
    expect(await dispatchHostCall(hostCall('GetWindowTitle'), ui)).toEqual(
      refused('The host does not support GetWindowTitle.'),
    );
    expect(await dispatchHostCall(hostCall('ReadKey', [4]), ui)).toEqual(
      refused('The host does not support ReadKey.'),
    );
  });

  it('SetShouldExit and PopRunspace end the interactive session; GetIsRunspacePushed is true', async () => {
    const ui = new RecordingHostUi();
    expect(await dispatchHostCall(hostCall('SetShouldExit', [3], VOID), ui)).toEqual({
      kind: 'exit',
      exitCode: 3,
    });
    expect(await dispatchHostCall(hostCall('SetShouldExit', [], VOID), ui)).toEqual({
      kind: 'exit',
      exitCode: 0,
    });
    expect(await dispatchHostCall(hostCall('PopRunspace', [], VOID), ui)).toEqual({
      kind: 'exit',
      exitCode: 0,
    });
    expect(await dispatchHostCall(hostCall('GetIsRunspacePushed'), ui)).toEqual(
      answered({ kind: 'boolean', value: true }),
    );
  });

  it('members this client does not implement: refused, or unanswered when void', async () => {
    for (const ui of [new RecordingHostUi(), new RawHostUi()]) {
      expect(await dispatchHostCall(hostCall('GetName'), ui)).toEqual(
        refused('The host does not support GetName.'),
      );
      expect(await dispatchHostCall(hostCall('GetBufferContents', [null]), ui)).toEqual(
        refused('The host does not support GetBufferContents.'),
      );
      expect(await dispatchHostCall(hostCall('SetBufferContents1', [null, null], VOID), ui)).toEqual({
        kind: 'none',
      });
      expect(await dispatchHostCall(hostCall('PushRunspace', [null], VOID), ui)).toEqual({ kind: 'none' });
      expect(await dispatchHostCall(hostCall('', [], 5n, 99), ui)).toEqual(
        refused('The host does not support Unknown99.'),
      );
      expect(await dispatchHostCall(hostCall('EnterNestedPrompt'), ui)).toEqual(
        refused('Nested prompts are not supported in a remote session.'),
      );
      expect(await dispatchHostCall(hostCall('ExitNestedPrompt', [], VOID), ui)).toEqual(
        refused('Nested prompts are not supported in a remote session.'),
      );
      expect(await dispatchHostCall(hostCall('NotifyBeginApplication', [], VOID), ui)).toEqual({
        kind: 'none',
      });
      expect(await dispatchHostCall(hostCall('NotifyEndApplication', [], VOID), ui)).toEqual({
        kind: 'none',
      });
      expect(ui.records).toEqual([]);
    }
  });

  it('a HostUi that throws or rejects is answered with its message', async () => {
    const ui = new RecordingHostUi({ answers: [new Error('withdrawn')] });
    expect(await dispatchHostCall(hostCall('ReadLine'), ui)).toEqual(refused('withdrawn'));
    ui.writeWarningLine = () => {
      throw new Error('closed');
    };
    expect(await dispatchHostCall(hostCall('WriteWarningLine', ['w'], VOID), ui)).toEqual(refused('closed'));
  });

  it('a RawUi member that rejects (ReadKey withdrawn) or throws is answered too, never an unhandled rejection', async () => {
    const ui = new RawHostUi();
    ui.rawUi.readKey = () => Promise.reject(new Error('key withdrawn'));
    expect(await dispatchHostCall(hostCall('ReadKey', [6]), ui)).toEqual(refused('key withdrawn'));
    Object.defineProperty(ui.rawUi, 'windowTitle', {
      get() {
        throw new Error('no title');
      },
    });
    expect(await dispatchHostCall(hostCall('GetWindowTitle'), ui)).toEqual(refused('no title'));
  });
});
