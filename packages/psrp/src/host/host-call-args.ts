import { PSList, PSObject, type PSValue } from '../clixml/value.ts';
import { asNumber, asString, enumValue } from '../message/codecs/enum.ts';

// The readers of host-call argument values (MS-PSRP 2.2.3.17): decodeHostCall types a call with them.

export interface FieldDescriptionInfo {
  readonly name: string;
  readonly label: string;
  readonly parameterTypeName: string;
  readonly parameterTypeFullName: string;
  readonly helpMessage: string;
  readonly isMandatory: boolean;
  readonly defaultValue?: string;
}

export interface ChoiceDescriptionInfo {
  readonly label: string;
  readonly helpMessage: string;
}

function items(v: PSValue | undefined): PSValue[] {
  if (v instanceof PSObject && v.baseValue instanceof PSList) return v.baseValue.items;
  return [];
}

/** Prompt's Collection<FieldDescription>. */
export function decodeFieldDescriptions(v: PSValue | undefined): FieldDescriptionInfo[] {
  return items(v).map((f) => {
    const o = f instanceof PSObject ? f : new PSObject();
    const dv = o.get('defaultValue');
    return {
      name: asString(o.get('name')) ?? '',
      label: asString(o.get('label')) ?? '',
      parameterTypeName: asString(o.get('parameterTypeName')) ?? 'String',
      parameterTypeFullName: asString(o.get('parameterTypeFullName')) ?? 'System.String',
      helpMessage: asString(o.get('helpMessage')) ?? '',
      isMandatory: o.get('isMandatory') === true,
      ...(dv !== undefined && dv !== null ? { defaultValue: String(dv) } : {}),
    };
  });
}

export function decodeChoiceDescriptions(v: PSValue | undefined): ChoiceDescriptionInfo[] {
  return items(v).map((c) => {
    const o = c instanceof PSObject ? c : new PSObject();
    return { label: asString(o.get('label')) ?? '', helpMessage: asString(o.get('helpMessage')) ?? '' };
  });
}

export function decodeIntCollection(v: PSValue | undefined): number[] {
  return items(v).map((x) => asNumber(x) ?? 0);
}

/** A ConsoleColor argument: a plain I32 (pypsrp recordings) or an enum object. */
export function decodeColor(v: PSValue | undefined): number | undefined {
  return enumValue(v) ?? asNumber(v);
}

export function decodeSize(v: PSValue | undefined): { width: number; height: number } {
  const o = v instanceof PSObject ? v : new PSObject();
  return { width: asNumber(o.get('width')) ?? 0, height: asNumber(o.get('height')) ?? 0 };
}

export function decodeCoordinates(v: PSValue | undefined): { x: number; y: number } {
  const o = v instanceof PSObject ? v : new PSObject();
  return { x: asNumber(o.get('x')) ?? 0, y: asNumber(o.get('y')) ?? 0 };
}
