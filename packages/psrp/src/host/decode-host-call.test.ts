import { describe, expect, it } from 'vitest';
import { deserializeClixml } from '../clixml/deserialize.ts';
import { PSList, PSObject, PSPrimitive, type PSValue } from '../clixml/value.ts';
import { consoleColor, coordinatesObject, sizeObject } from '../message/codecs/host-info.ts';
import { hostCallBody } from '../message/codecs/server-messages.ts';
import { progressRecordObject } from '../records/records.ts';
import { decodeHostCall } from './decode-host-call.ts';
import { HOST_METHOD_NAMES, hostMethodId } from './host-method.ts';

/** Arguments as they come off the wire: through the server encoder and our deserializer. */
function wire(methodId: number, args: PSValue[]): PSValue[] {
  const o = deserializeClixml(hostCallBody(1n, methodId, args)) as PSObject;
  return ((o.get('mp') as PSObject).baseValue as PSList).items;
}
const call = (name: string, args: PSValue[] = []) =>
  decodeHostCall(hostMethodId(name), wire(hostMethodId(name), args));

const coll = (items: PSValue[]) =>
  new PSObject({
    typeNames: ['System.Collections.ObjectModel.Collection`1', 'System.Object'],
    baseValue: new PSList('LST', items),
  });
const rect = (l: number, t: number, r: number, b: number) =>
  new PSObject({
    extended: [
      ['left', l],
      ['top', t],
      ['right', r],
      ['bottom', b],
    ],
  });
const cell = new PSObject({
  extended: [
    ['character', new PSPrimitive('C', '#')],
    ['foregroundColor', consoleColor(12)],
    ['backgroundColor', consoleColor(1)],
    ['bufferCellType', 0],
  ],
});

describe('decodeHostCall: typed arguments for every RemoteHostMethodId (protocols.md 1.6)', () => {
  it('every id 1..56 decodes to its own method name, even with no arguments at all', () => {
    expect(HOST_METHOD_NAMES.length).toBe(57);
    for (let id = 1; id <= 56; id++) expect(decodeHostCall(id, []).method).toBe(HOST_METHOD_NAMES[id]);
    expect(decodeHostCall(99, [])).toEqual({ method: 'Unknown', methodId: 99 });
  });

  it('writes: text, colours as plain I32 or as ConsoleColor enums', () => {
    expect(call('WriteLine2', ['hi'])).toEqual({ method: 'WriteLine2', text: 'hi' });
    expect(call('Write2', [9, 15, 'x'])).toEqual({
      method: 'Write2',
      foregroundColor: 9,
      backgroundColor: 15,
      text: 'x',
    });
    expect(call('WriteLine3', [consoleColor(14), consoleColor(4), 'y'])).toEqual({
      method: 'WriteLine3',
      foregroundColor: 14,
      backgroundColor: 4,
      text: 'y',
    });
    expect(call('WriteWarningLine', ['w'])).toEqual({ method: 'WriteWarningLine', text: 'w' });
    expect(call('SetShouldExit', [3])).toEqual({ method: 'SetShouldExit', exitCode: 3 });
  });

  it('WriteProgress: the I64 source id and the ProgressRecord', () => {
    const d = call('WriteProgress', [
      new PSPrimitive('I64', 12n),
      progressRecordObject({ activity: 'A', percentComplete: 7 }),
    ]);
    expect(d).toMatchObject({
      method: 'WriteProgress',
      sourceId: 12n,
      record: { activity: 'A', percentComplete: 7 },
    });
  });

  it('prompts: fields, credentials, choices', () => {
    const field = new PSObject({
      extended: [
        ['name', 'Name'],
        ['label', '&Name'],
        ['parameterTypeName', 'SecureString'],
        ['parameterTypeFullName', 'System.Security.SecureString'],
        ['helpMessage', 'h'],
        ['isMandatory', true],
      ],
    });
    expect(call('Prompt', ['c', 'm', coll([field])])).toEqual({
      method: 'Prompt',
      caption: 'c',
      message: 'm',
      fields: [
        {
          name: 'Name',
          label: '&Name',
          parameterTypeName: 'SecureString',
          parameterTypeFullName: 'System.Security.SecureString',
          helpMessage: 'h',
          isMandatory: true,
        },
      ],
    });
    expect(call('PromptForCredential2', ['c', 'm', 'u', 't', 1, 2])).toEqual({
      method: 'PromptForCredential2',
      caption: 'c',
      message: 'm',
      userName: 'u',
      targetName: 't',
      allowedCredentialTypes: 1,
      options: 2,
    });
    const choice = (l: string) =>
      new PSObject({
        extended: [
          ['label', l],
          ['helpMessage', `${l}?`],
        ],
      });
    expect(call('PromptForChoice', ['c', 'm', coll([choice('&Yes'), choice('&No')]), 1])).toEqual({
      method: 'PromptForChoice',
      caption: 'c',
      message: 'm',
      choices: [
        { label: '&Yes', helpMessage: '&Yes?' },
        { label: '&No', helpMessage: '&No?' },
      ],
      defaultChoice: 1,
    });
    expect(
      call('PromptForChoiceMultipleSelection', ['c', 'm', coll([choice('a')]), coll([0, 2])]),
    ).toMatchObject({
      defaultChoices: [0, 2],
    });
  });

  it('RawUI setters and buffer methods', () => {
    expect(call('SetForegroundColor', [consoleColor(3)])).toEqual({ method: 'SetForegroundColor', color: 3 });
    expect(call('SetCursorPosition', [coordinatesObject({ x: 4, y: 5 })])).toEqual({
      method: 'SetCursorPosition',
      coordinates: { x: 4, y: 5 },
    });
    expect(call('SetBufferSize', [sizeObject({ width: 80, height: 25 })])).toEqual({
      method: 'SetBufferSize',
      size: { width: 80, height: 25 },
    });
    expect(call('SetWindowTitle', ['t'])).toEqual({ method: 'SetWindowTitle', title: 't' });
    expect(call('SetCursorSize', [50])).toEqual({ method: 'SetCursorSize', cursorSize: 50 });
    expect(call('ReadKey', [6])).toEqual({ method: 'ReadKey', options: 6 });
    expect(call('GetBufferContents', [rect(0, 1, 2, 3)])).toEqual({
      method: 'GetBufferContents',
      rectangle: { left: 0, top: 1, right: 2, bottom: 3 },
    });
    expect(call('SetBufferContents1', [rect(0, 0, 9, 9), cell])).toEqual({
      method: 'SetBufferContents1',
      rectangle: { left: 0, top: 0, right: 9, bottom: 9 },
      fill: { character: '#', foregroundColor: 12, backgroundColor: 1, bufferCellType: 0 },
    });
    expect(
      call('ScrollBufferContents', [
        rect(0, 0, 1, 1),
        coordinatesObject({ x: 2, y: 2 }),
        rect(0, 0, 5, 5),
        cell,
      ]),
    ).toMatchObject({
      method: 'ScrollBufferContents',
      destination: { x: 2, y: 2 },
      clip: { left: 0, top: 0, right: 5, bottom: 5 },
    });
  });

  it('a colour or cursor size that is none decodes as undefined (the host keeps its own); numbers read through strings', () => {
    expect(call('Write2', [null, 'x', 'y'])).toEqual({
      method: 'Write2',
      foregroundColor: undefined,
      backgroundColor: undefined,
      text: 'y',
    });
    expect(call('SetBackgroundColor', [])).toEqual({ method: 'SetBackgroundColor', color: undefined });
    expect(call('SetCursorSize', [null])).toEqual({ method: 'SetCursorSize', cursorSize: undefined });
    expect(call('SetShouldExit', ['7'])).toEqual({ method: 'SetShouldExit', exitCode: 7 });
    expect(call('ReadKey', [])).toEqual({ method: 'ReadKey', options: 4 });
  });

  it('never throws on odd peer arguments', () => {
    const odd: PSValue[] = [
      null,
      'x',
      new PSPrimitive('Db', Number.NaN),
      new PSObject(),
      true,
      new PSPrimitive('I64', -1n),
    ];
    for (let id = 0; id <= 60; id++)
      for (let i = 0; i < odd.length; i++) {
        const args = [
          odd[i] ?? null,
          odd[(i + 1) % odd.length] ?? null,
          odd[(i + 2) % odd.length] ?? null,
          odd[(i + 3) % odd.length] ?? null,
        ];
        expect(() => decodeHostCall(id, args)).not.toThrow();
      }
  });
});
