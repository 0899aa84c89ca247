import { PSObject, PSPrimitive, type PSValue } from '../../clixml/value.ts';

/** An enum value as PowerShell serializes it: TN (type, Enum, ValueType, Object), ToString name, I32 value. */
export function psEnum(typeName: string, name: string, value: number): PSObject {
  return new PSObject({
    typeNames: [typeName, 'System.Enum', 'System.ValueType', 'System.Object'],
    toStringValue: name,
    baseValue: value,
  });
}

/** A RemoteHostMethodId (MS-PSRP 2.2.3.17), as host calls and host responses carry their method. */
export function remoteHostMethodId(methodId: number, methodName: string): PSObject {
  return psEnum('System.Management.Automation.Remoting.RemoteHostMethodId', methodName, methodId);
}

/** The numeric value of an enum (an Obj with an I32 base) or a bare number. */
export function enumValue(v: PSValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof PSObject) {
    const b = v.baseValue;
    if (typeof b === 'number') return b;
    if (b !== undefined && b !== null && typeof b === 'object' && 'value' in b && typeof b.value === 'number')
      return b.value;
  }
  return undefined;
}

export function asString(v: PSValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  return String(v);
}

/** An Int64 (or UInt64) as sent: the bigint of an `<I64>`, else undefined (no conversion from other types). */
export function asBigInt(v: PSValue | undefined): bigint | undefined {
  return v instanceof PSPrimitive && typeof v.value === 'bigint' ? v.value : undefined;
}

export function asNumber(v: PSValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && 'value' in v) {
    const x = (v as { value: unknown }).value;
    if (typeof x === 'number') return x;
    if (typeof x === 'bigint') return Number(x);
  }
  if (v instanceof PSObject) return enumValue(v);
  return undefined;
}

export const PipelineResultTypes = {
  None: 0,
  Output: 1,
  Error: 2,
  Warning: 3,
  Verbose: 4,
  Debug: 5,
  Information: 6,
  All: 7,
  Null: 8,
} as const;
export type PipelineResultType = number;

const PRT_NAMES = ['None', 'Output', 'Error', 'Warning', 'Verbose', 'Debug', 'Information', 'All', 'Null'];

/** PipelineResultTypes, sequential values (Command.cs; not the spec's bit table). */
export function pipelineResultTypes(v: number): PSObject {
  return psEnum('System.Management.Automation.Runspaces.PipelineResultTypes', PRT_NAMES[v] ?? String(v), v);
}
