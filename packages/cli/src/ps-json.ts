import { psValueText } from '@psremote/core';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from '@psremote/psrp';

/** JSON for a CLIXML value, faithful to what PowerShell sent (for `psremote invoke --json`). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

type Value = PSValue | PSList | PSDictionary | undefined;
type Container = PSObject | PSList | PSDictionary;

export interface PsJsonOptions {
  /**
   * Containers (objects, arrays) below the record's top level before a value is written as its ToString text,
   * as ConvertTo-Json does beyond -Depth. Default 50: PowerShell's serializer never writes deeper than that
   * (serialization.cs MaxDepthBelowTopLevel = 50), so real output never reaches it.
   */
  readonly maxDepth?: number;
  /** The least work a record may take (values written; a string counts 1 per 64 characters). */
  readonly minBudget?: number;
  /** Work allowed per unit of distinct content: repeats of shared objects are expanded up to this factor. */
  readonly budgetFactor?: number;
  /**
   * The hard cap on a record's work, as a multiple of its budget (default 2): a `$ref` is written only while
   * its pointer fits under it; past it every further repeat is `{"$truncated":true}`.
   */
  readonly capFactor?: number;
  /** Characters gathered before a chunk is handed out. */
  readonly chunkSize?: number;
}

export const JSON_MAX_DEPTH = 50;
const MIN_BUDGET = 100_000;
const BUDGET_FACTOR = 16;
const CAP_FACTOR = 2;

/** psremote's own marker (not JSON Reference) for a repeat left out once the record reached its hard cap. */
const TRUNCATED_JSON = '{"$truncated":true}';

/** Work units of a string: long strings cost by length, so one big string repeated is not free. */
const stringCost = (s: string): number => 1 + (s.length >>> 6);
/** Work units of JSON text written: 1 per 64 characters (what a value writes, beyond the 1 it costs). */
const textCost = (json: string): number => json.length >>> 6;

/**
 * JSON text of one record, in chunks (a caller can wait for its output stream between them). PowerShell's
 * deserializer keeps shared references shared; the text keeps them faithful while affordable:
 *
 * - Work is what the record writes: 1 per value, plus 1 per 64 characters of its JSON text (strings, property
 *   names and keys, type names, `$ref` pointers). Distinct content is counted the same way (property names
 *   included), each object once.
 * - An object met again in the same record is expanded again, as long as the record's work stays within a
 *   budget of max(minBudget, budgetFactor × its distinct content). Past that, every further repeat is
 *   `{"$ref": "<pointer>"}` to its first expansion, so a 2 KB message that expands to 2^26 objects costs a
 *   few hundred thousand values, not gigabytes.
 * - A cycle (an object inside itself) is `{"$ref": "<pointer>"}` to the enclosing expansion.
 * - A `$ref` costs its pointer's length, and the record's work has a hard cap of capFactor × the budget: a
 *   `$ref` that would cross it, and every repeat or cycle after it in the record, is `{"$truncated": true}`
 *   (psremote's own marker, not part of JSON Reference). Pointers under long property names (megabytes each)
 *   thus cannot multiply the output: what a record writes stays within a small multiple of its distinct content.
 * - Below maxDepth containers a value is its ToString text (ConvertTo-Json beyond -Depth); past the cap, an
 *   object already written (in full or as its text) is the marker there too.
 *
 * Pointers are RFC 6901 JSON Pointers in URI-fragment form (`#`, `#/Items/0/Parent`), relative to the record.
 * Primitives map as before: 64-bit integers beyond 2^53 and decimals as strings, byte arrays as base64, lists
 * to arrays, dictionaries to objects (keys as text), objects to their properties (adapted, then extended) with
 * `PSTypeNames`; an enum or extended primitive is its value. No recursion: the walk keeps its own stack.
 */
export function* psValueJsonChunks(value: Value, options: PsJsonOptions = {}): Generator<string, void> {
  const maxDepth = options.maxDepth ?? JSON_MAX_DEPTH;
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const budget = Math.max(
    options.minBudget ?? MIN_BUDGET,
    (options.budgetFactor ?? BUDGET_FACTOR) * distinctCost(value),
  );
  const cap = (options.capFactor ?? CAP_FACTOR) * budget;

  /** Path tokens of the value being written (the pointer of a container is its tokens at the time). */
  const path: string[] = [];
  /**
   * pointers[i]: the pointer of the first i path tokens, for i below pointers.length (valid prefixes only).
   * Neighbouring values share their prefix, so a pointer costs the tokens that changed, not the whole depth.
   */
  const pointers: string[] = ['#'];
  const pointer = (length: number): string => {
    if (pointers.length > path.length + 1) pointers.length = path.length + 1;
    for (let i = pointers.length; i <= length; i++)
      pointers.push(`${pointers[i - 1] as string}/${encodeToken(path[i - 1] as string)}`);
    return pointers[length] as string;
  };
  /** Containers being written, to the path length at which they opened (cycles point there). */
  const open = new Map<Container, number>();
  /** Where each container was first written in full. */
  const firstAt = new Map<Container, string>();
  /** Containers written as their text below maxDepth (their repeats are cut past the cap). */
  const cutAt = new Set<Container>();
  const stack: Frame[] = [];
  let spent = 0;
  /** Set once the record reached its cap: every further repeat is the marker. */
  let truncated = false;
  let buf = '';

  /**
   * Writes a repeat as `{"$ref"}` to `p` while the record can afford its pointer, else the marker (and the
   * marker for every repeat after it). The cost is taken from the pointer's length before its text is built:
   * JSON.stringify adds nothing to a pointer (URI-fragment characters only).
   */
  const writeRef = (p: string): void => {
    const cost = (p.length + 11) >>> 6; // {"$ref":"…"}
    if (truncated || spent + cost > cap) {
      truncated = true;
      buf += TRUNCATED_JSON;
      return;
    }
    spent += cost;
    buf += refJson(p);
  };

  /** Writes `v` at the current path; a container opens a frame, anything else is written whole. */
  const visit = (v: Value): void => {
    spent++;
    const target = unwrap(v);
    if (!isContainer(target)) {
      if (v instanceof PSObject) {
        // A shared object without properties (its ToString, its base value) counts like a container: one
        // with a huge ToString referenced a thousand times is a thousand copies.
        const first = firstAt.get(v);
        if (first !== undefined && spent > budget) {
          writeRef(first);
          return;
        }
        if (first === undefined) firstAt.set(v, pointer(path.length));
      }
      const json = scalarJson(target);
      spent += textCost(json);
      buf += json;
      return;
    }
    const openAt = open.get(target);
    if (openAt !== undefined) {
      writeRef(pointer(openAt));
      return;
    }
    if (stack.length > maxDepth) {
      if ((truncated || spent > cap) && (cutAt.has(target) || firstAt.has(target))) {
        truncated = true;
        buf += TRUNCATED_JSON;
        return;
      }
      cutAt.add(target);
      const json = JSON.stringify(psValueText(v));
      spent += textCost(json);
      buf += json;
      return;
    }
    const first = firstAt.get(target);
    if (first !== undefined && spent > budget) {
      writeRef(first);
      return;
    }
    if (first === undefined) firstAt.set(target, pointer(path.length));
    open.set(target, path.length);
    const frame = openFrame(target);
    spent += frame.cost;
    buf += frame.array ? '[' : '{';
    stack.push(frame);
  };

  visit(value);
  while (stack.length > 0) {
    const f = stack[stack.length - 1] as Frame;
    if (f.i >= f.length) {
      buf += f.array ? ']' : '}';
      stack.pop();
      open.delete(f.node);
      if (stack.length > 0) {
        path.pop();
        if (pointers.length > path.length + 1) pointers.length = path.length + 1;
      }
    } else {
      const i = f.i++;
      if (f.prefix !== undefined && i === 0) {
        // PSTypeNames: plain strings, written whole.
        buf += f.prefix;
      } else {
        if (i > 0) buf += ',';
        const [key, v] = entryAt(f, i);
        if (!f.array) {
          const json = JSON.stringify(key);
          buf += `${json}:`;
          spent += 1 + textCost(json);
        }
        if (pointers.length > path.length + 1) pointers.length = path.length + 1;
        path.push(key);
        const depthBefore = stack.length;
        visit(v);
        if (stack.length === depthBefore) {
          path.pop();
          if (pointers.length > path.length + 1) pointers.length = path.length + 1;
        }
      }
    }
    if (buf.length >= chunkSize) {
      yield buf;
      buf = '';
    }
  }
  if (buf.length > 0) yield buf;
}

/** The whole JSON text of one record (tests, small values). */
export function psValueToJsonText(value: Value, options?: PsJsonOptions): string {
  let s = '';
  for (const c of psValueJsonChunks(value, options)) s += c;
  return s;
}

/** The record as a JSON value (parsed back from psValueToJsonText: the same bounds apply). */
export function psValueToJson(value: Value, options?: PsJsonOptions): JsonValue {
  return JSON.parse(psValueToJsonText(value, options)) as JsonValue;
}

// ---- frames ---------------------------------------------------------------------------------------------

interface Frame {
  readonly node: Container;
  readonly array: boolean;
  readonly length: number;
  /** Work units for what the frame writes without visiting (type names). */
  readonly cost: number;
  /** PSTypeNames, already as JSON text, written as entry 0 of an object frame. */
  readonly prefix: string | undefined;
  readonly keys: readonly string[] | undefined;
  readonly values: readonly Value[] | undefined;
  i: number;
}

function openFrame(node: Container): Frame {
  if (node instanceof PSList) {
    return {
      node,
      array: true,
      length: node.items.length,
      cost: 0,
      prefix: undefined,
      keys: undefined,
      values: undefined,
      i: 0,
    };
  }
  if (node instanceof PSDictionary) {
    return {
      node,
      array: false,
      length: node.entries.length,
      cost: 0,
      prefix: undefined,
      keys: undefined,
      values: undefined,
      i: 0,
    };
  }
  // An object with properties: PSTypeNames, adapted, extended, then the base value unless a Value says it.
  const keys: string[] = [];
  const values: Value[] = [];
  let prefix: string | undefined;
  let cost = 0;
  if (node.typeNames.length > 0) {
    prefix = `"PSTypeNames":${JSON.stringify(node.typeNames)}`;
    for (const t of node.typeNames) cost += stringCost(t);
    cost = Math.max(cost, textCost(prefix));
    keys.push('PSTypeNames');
    values.push(null);
  }
  for (const [k, v] of node.adapted) {
    keys.push(k);
    values.push(v);
  }
  for (const [k, v] of node.extended) {
    keys.push(k);
    values.push(v);
  }
  if (node.baseValue !== undefined && !keys.includes('Value')) {
    keys.push('BaseValue');
    values.push(node.baseValue);
  }
  return { node, array: false, length: keys.length, cost, prefix, keys, values, i: 0 };
}

function entryAt(f: Frame, i: number): [string, Value] {
  const node = f.node;
  if (node instanceof PSList) return [String(i), node.items[i] as PSValue];
  if (node instanceof PSDictionary) {
    const [k, v] = node.entries[i] as [PSValue, PSValue];
    return [psValueText(k), v];
  }
  return [(f.keys as string[])[i] as string, (f.values as Value[])[i]];
}

// ---- values ---------------------------------------------------------------------------------------------

const isContainer = (v: Value): v is Container =>
  v instanceof PSList || v instanceof PSDictionary || (v instanceof PSObject && hasProperties(v));

const hasProperties = (o: PSObject): boolean => o.hasAdapted || o.hasExtended;

/**
 * What a value is written as: an object without properties stands for its base value (an enum, an extended
 * primitive, a collection), followed as far as it goes; one whose base values cycle is its text.
 */
function unwrap(v: Value): Value {
  let cur = v;
  let steps = 0;
  while (cur instanceof PSObject && !hasProperties(cur)) {
    if (cur.baseValue === undefined || cur.baseValue === cur || ++steps > 64) return psValueText(cur);
    cur = cur.baseValue;
  }
  return cur;
}

function scalarJson(v: Value): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v));
  if (v instanceof PSPrimitive) return JSON.stringify(v.toJSON()) ?? 'null';
  return JSON.stringify(psValueText(v));
}

const refJson = (p: string): string => `{"$ref":${JSON.stringify(p)}}`;

const PLAIN_TOKEN = /^[A-Za-z0-9_.-]*$/;

/**
 * An RFC 6901 reference token in URI fragment form (section 6): `~` and `/` escaped (section 4), then what a
 * URI fragment cannot hold percent-encoded (RFC 3986).
 */
export function encodeToken(token: string): string {
  if (PLAIN_TOKEN.test(token)) return token;
  const escaped = token.replace(/~/g, '~0').replace(/\//g, '~1');
  return encodeURIComponent(escaped).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Work units of the record's distinct content: each object, container and value once, with its property names
 * and type names (iterative).
 */
function distinctCost(root: Value): number {
  const seen = new Set<object>();
  const todo: Value[] = [root];
  let cost = 0;
  while (todo.length > 0) {
    const raw = todo.pop();
    if (raw instanceof PSObject || raw instanceof PSList || raw instanceof PSDictionary) {
      if (seen.has(raw)) continue;
      seen.add(raw);
    }
    const v = unwrap(raw);
    cost++;
    if (typeof v === 'string') cost += stringCost(v) - 1;
    if (!isContainer(v)) continue;
    if (v !== raw) {
      if (seen.has(v)) continue;
      seen.add(v);
    }
    if (v instanceof PSList) for (const x of v.items) todo.push(x);
    else if (v instanceof PSDictionary)
      for (const [k, x] of v.entries) {
        todo.push(k);
        todo.push(x);
      }
    else {
      for (const t of v.typeNames) cost += stringCost(t);
      for (const [k, x] of v.adapted) {
        cost += stringCost(k);
        todo.push(x);
      }
      for (const [k, x] of v.extended) {
        cost += stringCost(k);
        todo.push(x);
      }
      if (v.baseValue !== undefined) todo.push(v.baseValue);
    }
  }
  return cost;
}
