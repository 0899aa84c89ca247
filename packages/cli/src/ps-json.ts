import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '@psremote/psrp';

/** JSON for a CLIXML value, faithful to what PowerShell sent (for `psremote invoke --json`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/**
 * Maps a PSValue to JSON: primitives to their JSON form (64-bit integers beyond 2^53 and decimals as strings,
 * byte arrays as base64), lists to arrays, dictionaries to objects (keys as text), objects to their
 * properties (adapted, then extended), with `PSTypeNames` kept so nothing is lost. An enum or extended
 * primitive becomes its value (and `ToString` when the object carries properties).
 */
export function psValueToJson(
  value: PSValue | PSList | PSDictionary | undefined,
  seen = new Set<object>(),
): JsonValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof PSPrimitive) return value.toJSON() as JsonValue;
  if (value instanceof PSList) return value.items.map((v) => psValueToJson(v, seen));
  if (value instanceof PSDictionary) {
    const o: Record<string, JsonValue> = {};
    for (const [k, v] of value.entries) o[String(k)] = psValueToJson(v, seen);
    return o;
  }
  if (value instanceof PSObject) {
    if (seen.has(value)) return { $ref: value.toString() };
    seen.add(value);
    try {
      const hasProps = value.hasAdapted || value.hasExtended;
      if (!hasProps) {
        if (value.baseValue !== undefined) return psValueToJson(value.baseValue, seen);
        return value.toString();
      }
      const o: Record<string, JsonValue> = {};
      if (value.typeNames.length > 0) o.PSTypeNames = value.typeNames;
      for (const [k, v] of value.adapted) o[k] = psValueToJson(v, seen);
      for (const [k, v] of value.extended) o[k] = psValueToJson(v, seen);
      if (value.baseValue !== undefined && !('Value' in o))
        o.BaseValue = psValueToJson(value.baseValue, seen);
      return o;
    } finally {
      seen.delete(value);
    }
  }
  return String(value);
}
