/**
 * Builders for the complex values PowerShell itself writes (type names as serialization.cs emits them), for
 * callers that send collections and property bags: `serializeClixml(psHashtable([['a', 1]]))`.
 */
import { PSDictionary, PSList, PSObject, type PSValue } from './value.ts';

const OBJECT = 'System.Object';

/** An `object[]` (`<LST>` under System.Object[] / System.Array / System.Object), as `@(...)` serializes. */
export function psArray(items: PSValue[]): PSObject {
  return new PSObject({
    typeNames: ['System.Object[]', 'System.Array', OBJECT],
    baseValue: new PSList('LST', items),
  });
}

/** A `System.Collections.ArrayList` (`<LST>`). */
export function psArrayList(items: PSValue[]): PSObject {
  return new PSObject({
    typeNames: ['System.Collections.ArrayList', OBJECT],
    baseValue: new PSList('LST', items),
  });
}

/** A `System.Collections.Stack` (`<STK>`): items top first, as PowerShell enumerates (and writes) a stack. */
export function psStack(itemsTopFirst: PSValue[]): PSObject {
  return new PSObject({
    typeNames: ['System.Collections.Stack', OBJECT],
    baseValue: new PSList('STK', itemsTopFirst),
  });
}

/** A `System.Collections.Queue` (`<QUE>`): items head first. */
export function psQueue(items: PSValue[]): PSObject {
  return new PSObject({
    typeNames: ['System.Collections.Queue', OBJECT],
    baseValue: new PSList('QUE', items),
  });
}

/** A `System.Collections.Hashtable` (`<DCT>`); keys may be any value (pwsh reads them back case-insensitively). */
export function psHashtable(entries: Iterable<[PSValue, PSValue]>): PSObject {
  return new PSObject({
    typeNames: ['System.Collections.Hashtable', OBJECT],
    baseValue: new PSDictionary([...entries]),
  });
}

/** A `[ordered]@{}` (`System.Collections.Specialized.OrderedDictionary`, `<DCT>`), entry order kept. */
export function psOrderedDictionary(entries: Iterable<[PSValue, PSValue]>): PSObject {
  return new PSObject({
    typeNames: ['System.Collections.Specialized.OrderedDictionary', OBJECT],
    baseValue: new PSDictionary([...entries]),
  });
}

/** A `[pscustomobject]@{...}`: note properties (`<MS>`) in the given order. */
export function psCustomObject(properties: Iterable<[string, PSValue]>): PSObject {
  return new PSObject({
    typeNames: ['System.Management.Automation.PSCustomObject', OBJECT],
    extended: properties,
  });
}
