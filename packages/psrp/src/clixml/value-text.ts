import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from './value.ts';

/** How many base values deep the text of an extended primitive is looked for (a real one is one level). */
const MAX_BASE_CHAIN = 64;

/**
 * The text PowerShell's ToString gives for a deserialized value, as `PSObject.toString` does (the `<ToString>`
 * text, else the base value's text, else the first type name), but finite whatever the server sent: a base
 * value chain that cycles (`<Obj RefId="0"><Ref RefId="0"/></Obj>`) or runs deeper than any real object ends
 * at the type name instead of recursing. Lists and dictionaries give the name .NET's ToString gives them.
 * Everything that turns a server value into text for the terminal or the host goes through here (host-call
 * arguments are decoded with it).
 */
export function psValueText(value: PSValue | PSList | PSDictionary | undefined): string {
  let cur: PSValue | PSList | PSDictionary | undefined = value;
  let first: PSObject | undefined;
  for (let i = 0; i <= MAX_BASE_CHAIN; i++) {
    if (cur === undefined || cur === null) return '';
    if (typeof cur === 'string') return cur;
    if (typeof cur !== 'object') return String(cur);
    if (cur instanceof PSPrimitive) return cur.toString();
    if (cur instanceof PSList) return 'System.Object[]';
    if (cur instanceof PSDictionary) return 'System.Collections.Hashtable';
    if (!(cur instanceof PSObject)) return '';
    first ??= cur;
    if (cur.toStringValue !== undefined) return cur.toStringValue;
    const base: PSValue | PSList | PSDictionary | undefined = cur.baseValue;
    if (base === undefined || base instanceof PSList || base instanceof PSDictionary || base === cur)
      return typeNameText(cur);
    cur = base;
  }
  return typeNameText(first);
}

function typeNameText(o: PSObject | undefined): string {
  return o?.typeNames[0] ?? 'System.Management.Automation.PSCustomObject';
}

/**
 * The number a server value stands for (an int, a wrapped primitive, an enum's base value), or `fallback`: what
 * `Number(value)` means for host-call arguments, but without going through a PSObject's text, and finite on
 * any chain. An `undefined` fallback tells a missing number from any real one.
 */
export function psValueNumber<F extends number | undefined>(
  value: PSValue | PSList | PSDictionary | undefined,
  fallback: F,
): number | F {
  let cur: PSValue | PSList | PSDictionary | undefined = value;
  for (let i = 0; i <= MAX_BASE_CHAIN; i++) {
    if (cur === undefined || cur === null) return fallback;
    if (typeof cur === 'number') return cur;
    if (typeof cur === 'boolean') return cur ? 1 : 0;
    if (typeof cur === 'string') {
      const n = Number(cur);
      return cur.trim() !== '' && Number.isFinite(n) ? n : fallback;
    }
    if (cur instanceof PSPrimitive) {
      const v = cur.value;
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      cur = typeof v === 'string' ? v : undefined;
      continue;
    }
    if (!(cur instanceof PSObject)) return fallback;
    cur = cur.baseValue;
  }
  return fallback;
}
