/**
 * The CLIXML value model (MS-PSRP 2.2.5).
 *
 * JS natives stand for the four unambiguous wire types: `null` is `<Nil/>`, a `string` is `<S>`, a `boolean` is
 * `<B>` and a `number` is `<I32>` (when it is a 32-bit integer; any other JS number serializes as `<Db>`). Every
 * other primitive is a `PSPrimitive` that keeps its wire tag, so a value read from PowerShell is written back with
 * the same .NET type. Complex objects (`<Obj>`) are `PSObject`s.
 */
export type PSValue = null | string | boolean | number | PSPrimitive | PSObject;

/** Wire tags of the primitive types other than S, B, I32 and Nil (MS-PSRP 2.2.5.1). */
export type PrimitiveTag =
  | 'C' // Char: value is a one-code-unit string
  | 'DT' // DateTime: value is the xs:dateTime text as PowerShell writes it (7 fraction digits, offset)
  | 'TS' // TimeSpan: value is the xs:duration text (PT9.0269026S)
  | 'By' // Byte: number
  | 'SB' // SByte: number
  | 'U16'
  | 'I16'
  | 'U32' // number
  | 'U64'
  | 'I64' // bigint
  | 'Sg' // Single: number
  | 'Db' // Double: number
  | 'D' // Decimal: value is the decimal text, exactly as on the wire
  | 'BA' // byte[]: Uint8Array
  | 'G' // Guid: lowercase 8-4-4-4-12 text
  | 'URI' // Uri: text
  | 'Version' // Version: text major.minor[.build[.revision]]
  | 'SemanticVersion' // text
  | 'XD' // XmlDocument: text
  | 'SBK' // ScriptBlock: text
  | 'SS'; // SecureString: the wire text (base64); the engine encrypts and decrypts it, never the serializer

export interface PrimitiveValueMap {
  C: string;
  DT: string;
  TS: string;
  By: number;
  SB: number;
  U16: number;
  I16: number;
  U32: number;
  U64: bigint;
  I64: bigint;
  Sg: number;
  Db: number;
  D: string;
  BA: Uint8Array;
  G: string;
  URI: string;
  Version: string;
  SemanticVersion: string;
  XD: string;
  SBK: string;
  SS: string;
}

/** A primitive value that keeps its CLIXML tag (and so its .NET type) through a round trip. */
export class PSPrimitive<T extends PrimitiveTag = PrimitiveTag> {
  readonly tag: T;
  readonly value: PrimitiveValueMap[T];
  constructor(tag: T, value: PrimitiveValueMap[T]) {
    this.tag = tag;
    this.value = value;
  }
  valueOf(): PrimitiveValueMap[T] {
    return this.value;
  }
  toString(): string {
    const v = this.value;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return String(v);
  }
  toJSON(): unknown {
    const v = this.value;
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return v;
  }
}

/** Shorthands for building primitives. */
export const ps = {
  char: (c: string) => new PSPrimitive('C', c),
  int64: (v: bigint | number) => new PSPrimitive('I64', BigInt(v)),
  uint64: (v: bigint | number) => new PSPrimitive('U64', BigInt(v)),
  uint32: (v: number) => new PSPrimitive('U32', v),
  int16: (v: number) => new PSPrimitive('I16', v),
  uint16: (v: number) => new PSPrimitive('U16', v),
  byte: (v: number) => new PSPrimitive('By', v),
  sbyte: (v: number) => new PSPrimitive('SB', v),
  double: (v: number) => new PSPrimitive('Db', v),
  single: (v: number) => new PSPrimitive('Sg', v),
  decimal: (text: string) => new PSPrimitive('D', text),
  guid: (text: string) => new PSPrimitive('G', text.toLowerCase()),
  uri: (text: string) => new PSPrimitive('URI', text),
  version: (text: string) => new PSPrimitive('Version', text),
  dateTime: (text: string) => new PSPrimitive('DT', text),
  timeSpan: (text: string) => new PSPrimitive('TS', text),
  bytes: (b: Uint8Array) => new PSPrimitive('BA', b),
  scriptBlock: (text: string) => new PSPrimitive('SBK', text),
  secureString: (wire: string) => new PSPrimitive('SS', wire),
} as const;

/** Shared by objects without type names until they get their own (assign a new array to change them). */
const NO_TYPE_NAMES: string[] = Object.freeze([]) as unknown as string[];

/** Kinds of collection a `PSObject` can carry (MS-PSRP 2.2.5.2.6). */
export type CollectionKind = 'LST' | 'IE' | 'STK' | 'QUE';

/**
 * A complex object (`<Obj>`): type names, an optional ToString, an optional base value (a primitive for an
 * extended primitive or an enum; a list or dictionary for a collection), adapted properties (`<Props>`) and
 * extended properties (`<MS>`). Property lookup is case-insensitive, as in PowerShell.
 */
export class PSObject {
  /** `<TN>` type names, most specific first; `Deserialized.` prefixes are kept as read. */
  typeNames: string[];
  /** `<ToString>` text, when present. */
  toStringValue: string | undefined;
  /** The base value: a primitive (extended primitive, enum), a list or a dictionary. */
  baseValue: PSValue | PSList | PSDictionary | undefined;
  private _adapted: Map<string, PSValue> | undefined;
  private _extended: Map<string, PSValue> | undefined;

  constructor(init?: {
    typeNames?: string[];
    toStringValue?: string;
    baseValue?: PSValue | PSList | PSDictionary;
    adapted?: Iterable<[string, PSValue]>;
    extended?: Iterable<[string, PSValue]>;
  }) {
    if (init === undefined) {
      // The deserializer's hot path: no option object, no throw-away array (assign typeNames to change them).
      this.typeNames = NO_TYPE_NAMES;
      this.toStringValue = undefined;
      this.baseValue = undefined;
      return;
    }
    this.typeNames = init.typeNames ?? [];
    this.toStringValue = init.toStringValue;
    this.baseValue = init.baseValue;
    if (init.adapted) this._adapted = new Map(init.adapted);
    if (init.extended) this._extended = new Map(init.extended);
  }

  /** `<Props>`: adapted properties, in wire order (created on first use: most objects have only one kind). */
  get adapted(): Map<string, PSValue> {
    if (!this._adapted) this._adapted = new Map();
    return this._adapted;
  }

  /** `<MS>`: extended (note) properties, in wire order. */
  get extended(): Map<string, PSValue> {
    if (!this._extended) this._extended = new Map();
    return this._extended;
  }

  /** True when there are adapted properties (without creating the map). */
  get hasAdapted(): boolean {
    return (this._adapted?.size ?? 0) > 0;
  }

  /** True when there are extended properties (without creating the map). */
  get hasExtended(): boolean {
    return (this._extended?.size ?? 0) > 0;
  }

  /** Number of adapted plus extended properties, without creating the maps. */
  get propertyCount(): number {
    return (this._adapted?.size ?? 0) + (this._extended?.size ?? 0);
  }

  /** A property by name (extended first, then adapted), case-insensitive; `undefined` when absent. */
  get(name: string): PSValue | undefined {
    const direct = this._extended?.get(name) ?? this._adapted?.get(name);
    if (direct !== undefined) return direct;
    // A miss scans the names; only those of the same length are lowered (OrdinalIgnoreCase never matches names
    // of different lengths; and a peer's object may have a million properties, the record decoders ask for a
    // dozen absent ones).
    const lower = name.toLowerCase();
    const len = name.length;
    for (const map of [this._extended, this._adapted]) {
      if (map) for (const [k, v] of map) if (k.length === len && k.toLowerCase() === lower) return v;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** True when one of the type names is `name` (with or without the `Deserialized.` prefix). */
  isA(name: string): boolean {
    return this.typeNames.some((t) => t === name || t === `Deserialized.${name}`);
  }

  /**
   * The ToString text; else the base value's text (following objects that wrap objects); else the first type
   * name. A loop, not a recursion: a Ref can make an object its own base value (`<Obj RefId="0"><Ref
   * RefId="0"/></Obj>`, which PowerShell reads too) or chain many objects; each object is visited once.
   */
  toString(): string {
    let o: PSObject = this;
    let seen: Set<PSObject> | undefined;
    for (;;) {
      if (o.toStringValue !== undefined) return o.toStringValue;
      const b = o.baseValue;
      if (!(b instanceof PSObject)) {
        if (b !== undefined && !(b instanceof PSList) && !(b instanceof PSDictionary)) return String(b);
        return o.typeNames[0] ?? 'System.Management.Automation.PSCustomObject';
      }
      seen ??= new Set([o]);
      if (seen.has(b)) return this.typeNames[0] ?? 'System.Management.Automation.PSCustomObject';
      seen.add(b);
      o = b;
    }
  }
}

/** `<LST>`, `<IE>`, `<STK>` or `<QUE>` items. */
export class PSList {
  readonly kind: CollectionKind;
  readonly items: PSValue[];
  constructor(kind: CollectionKind, items: PSValue[] = []) {
    this.kind = kind;
    this.items = items;
  }
}

/** `<DCT>` entries, in wire order; keys may be any value. */
export class PSDictionary {
  readonly entries: Array<[PSValue, PSValue]>;
  constructor(entries: Array<[PSValue, PSValue]> = []) {
    this.entries = entries;
  }
  /** Value for a string key, case-insensitive as a PowerShell Hashtable is by default. */
  get(key: string | number): PSValue | undefined {
    const lower = typeof key === 'string' ? key.toLowerCase() : undefined;
    const len = typeof key === 'string' ? key.length : -1;
    for (const [k, v] of this.entries) {
      if (k === key) return v;
      if (typeof k === 'string' && k.length === len && k.toLowerCase() === lower) return v;
    }
    return undefined;
  }
}
