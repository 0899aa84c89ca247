import {
  decodeHostCall,
  type HostCall,
  hostMethodId,
  PSDictionary,
  PSList,
  PSObject,
  PSPrimitive,
} from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { dispatchHostCall } from '../session/host-dispatch.ts';
import { psValueNumber, psValueText } from './ps-value-text.ts';

/** An object that is its own base value: what `<Obj RefId="0"><Ref RefId="0"/></Obj>` deserializes to. */
function selfBase(typeName?: string): PSObject {
  const o = new PSObject(typeName ? { typeNames: [typeName] } : undefined);
  o.baseValue = o;
  return o;
}

const call = (methodName: string, args: HostCall['args']): HostCall => {
  const methodId = hostMethodId(methodName);
  return { callId: -100n, methodId, methodName, args, decoded: decodeHostCall(methodId, args) };
};

describe('psValueText', () => {
  it('gives ToString, the base value text, else the first type name, as PSObject.toString does', () => {
    expect(psValueText('s')).toBe('s');
    expect(psValueText(null)).toBe('');
    expect(psValueText(undefined)).toBe('');
    expect(psValueText(42)).toBe('42');
    expect(psValueText(new PSPrimitive('I64', 5n))).toBe('5');
    expect(psValueText(new PSObject({ toStringValue: 'Red', baseValue: 12 }))).toBe('Red');
    expect(psValueText(new PSObject({ baseValue: new PSPrimitive('G', 'abc') }))).toBe('abc');
    expect(psValueText(new PSObject({ typeNames: ['A.B'] }))).toBe('A.B');
    expect(psValueText(new PSObject())).toBe('System.Management.Automation.PSCustomObject');
    expect(psValueText(new PSList('LST', [1]))).toBe('System.Object[]');
    expect(psValueText(new PSDictionary())).toBe('System.Collections.Hashtable');
  });

  it('is finite on base value cycles of any length', () => {
    expect(psValueText(selfBase('Loop'))).toBe('Loop');
    const a = new PSObject({ typeNames: ['A'] });
    const b = new PSObject({ typeNames: ['B'] });
    a.baseValue = b;
    b.baseValue = a;
    expect(psValueText(a)).toBe('A');
  });
});

describe('psValueNumber', () => {
  it('reads numbers through wrappers and enums, and falls back on anything else', () => {
    expect(psValueNumber(3, 0)).toBe(3);
    expect(psValueNumber(new PSPrimitive('I64', 7n), 0)).toBe(7);
    expect(psValueNumber(new PSObject({ toStringValue: 'IncludeKeyDown', baseValue: 4 }), 0)).toBe(4);
    expect(psValueNumber('12', 0)).toBe(12);
    expect(psValueNumber('x', 9)).toBe(9);
    expect(psValueNumber(null, 9)).toBe(9);
    expect(psValueNumber(selfBase(), 9)).toBe(9);
  });
});

describe('host calls with hostile arguments', () => {
  it('WriteLine2 and SetShouldExit with a cyclic argument do not recurse', async () => {
    const ui = new RecordingHostUi();
    await dispatchHostCall(call('WriteLine2', [selfBase('Cyclic')]), ui);
    expect(ui.text).toBe('Cyclic\n');
    expect(await dispatchHostCall(call('SetShouldExit', [selfBase()]), ui)).toEqual({
      kind: 'exit',
      exitCode: 0,
    });
  });
});
