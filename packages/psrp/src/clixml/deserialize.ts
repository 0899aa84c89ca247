import { decodeClixmlString, utf16ToString } from './escape.ts';
import {
  type CollectionKind,
  type PrimitiveTag,
  PSDictionary,
  PSList,
  PSObject,
  PSPrimitive,
  type PSValue,
} from './value.ts';

export class ClixmlError extends Error {
  readonly errorId: string;
  readonly offset: number;
  constructor(errorId: string, message: string, offset: number) {
    super(`${message} (at offset ${offset})`);
    this.name = 'ClixmlError';
    this.errorId = errorId;
    this.offset = offset;
  }
}

export interface DeserializeOptions {
  /**
   * PowerShell's MaxDepthBelowTopLevel (serialization.cs, 50): each value read inside another (a property, a
   * list item, a dictionary key or value, an object as base value; here also a nested `<MS>` property set)
   * is one level deeper, the root value is level 1, and reaching this level is a DeserializationTooDeep error.
   * Default 50, so values nest 49 levels as in PowerShell.
   */
  readonly maxDepth?: number;
  /** Longest input accepted, in characters (default 512 Mi). */
  readonly maxLength?: number;
}

const PRIMITIVES = new Set([
  'S',
  'C',
  'B',
  'DT',
  'TS',
  'By',
  'SB',
  'U16',
  'I16',
  'U32',
  'I32',
  'U64',
  'I64',
  'Sg',
  'Db',
  'D',
  'BA',
  'G',
  'URI',
  'Version',
  'SemanticVersion',
  'XD',
  'SBK',
  'SS',
  'Nil',
]);
const COLLECTIONS = new Set(['LST', 'IE', 'STK', 'QUE']);

/** serialization.cs MaxDepthBelowTopLevel. */
const MAX_DEPTH_BELOW_TOP_LEVEL = 50;

/** Peer text quoted in an error message: a bounded prefix (an error must not copy megabytes). */
function clip(text: string | undefined): string {
  if (text === undefined) return '';
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

interface Tag {
  name: string;
  n: string | undefined;
  refId: string | undefined;
  selfClosing: boolean;
}

/** An XML Char (XML 1.0 section 2.2): what a character reference may name. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * The code point of the entity or character reference at s[amp] ('&'), with `entityEnd` set to the index after
 * its ';'; -1 when it is not one we know. Looks at most 10 characters past the '&' (`&#x10FFFF;` is the longest
 * form accepted): a string of many '&' without ';' costs linear time, not a search to the end for each.
 */
let entityEnd = 0;
function entityAt(s: string, amp: number): number {
  const c1 = s.charCodeAt(amp + 1);
  if (c1 === 0x23 /* # */) {
    const hex = (s.charCodeAt(amp + 2) | 0x20) === 0x78; /* x */
    let i = amp + (hex ? 3 : 2);
    const max = hex ? 6 : 7;
    let v = 0;
    let n = 0;
    for (; n <= max; n++, i++) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (hex && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) d = (c | 0x20) - 0x57;
      else break;
      v = v * (hex ? 16 : 10) + d;
    }
    if (n === 0 || n > max || s.charCodeAt(i) !== 0x3b || !isXmlChar(v)) return -1;
    entityEnd = i + 1;
    return v;
  }
  let cp: number;
  let len: number;
  if (s.startsWith('amp;', amp + 1)) [cp, len] = [0x26, 4];
  else if (s.startsWith('lt;', amp + 1)) [cp, len] = [0x3c, 3];
  else if (s.startsWith('gt;', amp + 1)) [cp, len] = [0x3e, 3];
  else if (s.startsWith('quot;', amp + 1)) [cp, len] = [0x22, 5];
  else if (s.startsWith('apos;', amp + 1)) [cp, len] = [0x27, 5];
  else return -1;
  entityEnd = amp + 1 + len;
  return cp;
}

/**
 * Resolves the predefined entities and character references; a bare `&`, an unknown entity or a reference to a
 * non-XML character is malformed, as for the XmlReader PowerShell reads with. Returns undefined then. One pass
 * into one UTF-16 buffer (the output is never longer than the input): no regular expression, no per-entity
 * strings, so 60 MB of `&amp;` costs one buffer and one string, not millions of small ones.
 */
function decodeEntities(s: string): string | undefined {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  const out = new Uint16Array(s.length);
  let n = 0;
  let i = 0;
  while (amp >= 0) {
    for (; i < amp; i++) out[n++] = s.charCodeAt(i);
    const cp = entityAt(s, amp);
    if (cp < 0) return undefined;
    if (cp > 0xffff) {
      out[n++] = 0xd800 + ((cp - 0x10000) >> 10);
      out[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    } else out[n++] = cp;
    i = entityEnd;
    amp = s.indexOf('&', i);
  }
  for (; i < s.length; i++) out[n++] = s.charCodeAt(i);
  return utf16ToString(out, n);
}

/**
 * `[+-]?(digits[.digits] | .digits)([eE][+-]?digits)?` over s[i, end), in one left-to-right pass (the regular
 * expression this replaces backtracked quadratically on a long run of digits followed by a letter).
 */
function isDecimalText(s: string, i: number, end: number): boolean {
  let c = s.charCodeAt(i);
  if (c === 0x2b || c === 0x2d) i++;
  const intStart = i;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  const intDigits = i - intStart;
  let fracDigits = 0;
  if (i < end && s.charCodeAt(i) === 0x2e) {
    i++;
    const fracStart = i;
    while (i < end && isDigit(s.charCodeAt(i))) i++;
    fracDigits = i - fracStart;
  }
  if (intDigits === 0 && fracDigits === 0) return false;
  if (i < end && (s.charCodeAt(i) | 0x20) === 0x65 /* e */) {
    i++;
    c = s.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) i++;
    const expStart = i;
    while (i < end && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return false;
  }
  return i === end;
}

/** `-?digits` (the file form's ProgressRecord numbers). */
function isIntegerText(t: string): boolean {
  const i = t.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i >= t.length) return false;
  for (let k = i; k < t.length; k++) if (!isDigit(t.charCodeAt(k))) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * `[+-]?digits` as a bigint, or undefined. A value with more than 20 significant digits is out of any 64-bit
 * range: it is answered without building a huge BigInt (whose parse is superlinear in the digit count).
 */
function parseBigDecimalInt(t: string): bigint | 'overflow' | undefined {
  let i = 0;
  const c0 = t.charCodeAt(0);
  if (c0 === 0x2b || c0 === 0x2d) i = 1;
  if (i >= t.length) return undefined;
  let firstSignificant = -1;
  for (let k = i; k < t.length; k++) {
    const c = t.charCodeAt(k);
    if (!isDigit(c)) return undefined;
    if (firstSignificant < 0 && c !== 0x30) firstSignificant = k;
  }
  if (firstSignificant < 0) return 0n;
  if (t.length - firstSignificant > 20) return 'overflow';
  const v = BigInt(t.slice(firstSignificant));
  return c0 === 0x2d ? -v : v;
}

const KNOWN_TAGS = [
  'S',
  'B',
  'C',
  'D',
  'G',
  'T',
  'En',
  'DT',
  'TS',
  'By',
  'SB',
  'Sg',
  'Db',
  'BA',
  'MS',
  'TN',
  'PR',
  'IE',
  'I32',
  'I16',
  'I64',
  'U16',
  'U32',
  'U64',
  'URI',
  'XD',
  'SBK',
  'SS',
  'Nil',
  'Obj',
  'Ref',
  'LST',
  'STK',
  'QUE',
  'DCT',
  'Objs',
  'Props',
  'TNRef',
  'Version',
  'ToString',
  'SemanticVersion',
];
const TAGS_BY_LENGTH: string[][] = [];
for (const t of KNOWN_TAGS) {
  const list = TAGS_BY_LENGTH[t.length] ?? [];
  list.push(t);
  TAGS_BY_LENGTH[t.length] = list;
}

/** The element name at s[start, end): a shared constant for the known tags, so no string is made per element. */
function internTag(s: string, start: number, end: number): string {
  const candidates = TAGS_BY_LENGTH[end - start];
  if (candidates) {
    const c0 = s.charCodeAt(start);
    for (const t of candidates) if (t.charCodeAt(0) === c0 && s.startsWith(t, start)) return t;
  }
  return s.slice(start, end);
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/**
 * `[+-]?digits` with optional XML whitespace around it, as a number (exact up to 2^53; larger values are
 * approximate and callers that need them exact check Number.isSafeInteger); undefined when it is not one.
 */
function parseDecimalInt(raw: string): number | undefined {
  let i = 0;
  let end = raw.length;
  while (i < end && isWs(raw.charCodeAt(i))) i++;
  while (end > i && isWs(raw.charCodeAt(end - 1))) end--;
  let neg = false;
  const c0 = raw.charCodeAt(i);
  if (c0 === 0x2d || c0 === 0x2b) {
    neg = c0 === 0x2d;
    i++;
  }
  if (i >= end) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const d = raw.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

class Reader {
  readonly s: string;
  i = 0;
  // The last start tag read (fields, not an object: one allocation less per element).
  tName = '';
  tN: string | undefined = undefined;
  tRef: string | undefined = undefined;
  tSelf = false;
  /** The N attribute of the last value read. */
  lastName: string | undefined = undefined;
  private readonly maxDepth: number;
  // RefIds are small sequential integers in practice: an array beats a string-keyed Map.
  private readonly refs: PSObject[] = [];
  private readonly refsByText = new Map<string, PSObject>();
  private readonly tns = new Map<string, string[]>();

  constructor(s: string, maxDepth: number) {
    this.s = s;
    this.maxDepth = maxDepth;
  }

  /** A RefId as a small array index (decimal, no leading zero), or -1. */
  private static refIndex(id: string): number {
    const len = id.length;
    if (len === 0 || len > 7 || (len > 1 && id.charCodeAt(0) === 0x30)) return -1;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const c = id.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) return -1;
      n = n * 10 + c;
    }
    return n;
  }

  private setRef(id: string, o: PSObject): void {
    const n = Reader.refIndex(id);
    if (n >= 0) this.refs[n] = o;
    else this.refsByText.set(id, o);
  }

  private getRef(id: string): PSObject | undefined {
    const n = Reader.refIndex(id);
    return n >= 0 ? this.refs[n] : this.refsByText.get(id);
  }

  fail(id: string, message: string): never {
    throw new ClixmlError(id, message, this.i);
  }

  /** Serialization.resx DeserializationTooDeep, PowerShell's id and text. */
  private tooDeep(): never {
    return this.fail('DeserializationTooDeep', 'Serialized XML is nested too deeply.');
  }

  /** XML entities resolved, or a ClixmlMalformed error. */
  private entities(raw: string): string {
    const v = decodeEntities(raw);
    if (v === undefined) this.fail('ClixmlMalformed', 'a bad entity or character reference');
    return v;
  }

  skipWs(): void {
    const s = this.s;
    while (this.i < s.length && isWs(s.charCodeAt(this.i))) this.i++;
  }

  /** Skips the prolog: BOM, `<?xml ...?>`, comments. */
  skipProlog(): void {
    if (this.s.charCodeAt(0) === 0xfeff) this.i = 1;
    for (;;) {
      this.skipWs();
      if (this.s.startsWith('<?', this.i)) {
        const e = this.s.indexOf('?>', this.i);
        if (e < 0) this.fail('ClixmlMalformed', 'unterminated XML declaration');
        this.i = e + 2;
      } else if (this.s.startsWith('<!--', this.i)) {
        const e = this.s.indexOf('-->', this.i);
        if (e < 0) this.fail('ClixmlMalformed', 'unterminated comment');
        this.i = e + 3;
      } else return;
    }
  }

  /** At '<': reads a start tag into tName/tN/tRef/tSelf and returns its name. */
  startTag(): string {
    const s = this.s;
    if (s.charCodeAt(this.i) !== 0x3c) this.fail('ClixmlMalformed', 'expected an element');
    let j = this.i + 1;
    const nameStart = j;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x3e || c === 0x2f || isWs(c)) break;
      j++;
    }
    const name = internTag(s, nameStart, j);
    if (name.length === 0 || name.charCodeAt(0) === 0x2f)
      this.fail('ClixmlMalformed', 'expected a start tag');
    let n: string | undefined;
    let refId: string | undefined;
    for (;;) {
      while (j < s.length && isWs(s.charCodeAt(j))) j++;
      if (j >= s.length) {
        this.i = j;
        this.fail('ClixmlMalformed', 'unterminated tag');
      }
      const c = s.charCodeAt(j);
      if (c === 0x3e) {
        this.i = j + 1;
        this.tName = name;
        this.tN = n;
        this.tRef = refId;
        this.tSelf = false;
        return name;
      }
      if (c === 0x2f) {
        if (s.charCodeAt(j + 1) !== 0x3e) {
          this.i = j;
          this.fail('ClixmlMalformed', 'bad self-closing tag');
        }
        this.i = j + 2;
        this.tName = name;
        this.tN = n;
        this.tRef = refId;
        this.tSelf = true;
        return name;
      }
      const an = j;
      while (j < s.length && s.charCodeAt(j) !== 0x3d && !isWs(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x3e)
        j++;
      const attrLen = j - an;
      // Only N and RefId matter; compare in place instead of slicing every attribute name.
      const isN = attrLen === 1 && s.charCodeAt(an) === 0x4e;
      const isRefId = attrLen === 5 && s.startsWith('RefId', an);
      while (j < s.length && isWs(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) !== 0x3d) {
        this.i = j;
        this.fail('ClixmlMalformed', `attribute ${clip(s.slice(an, an + attrLen))} has no value`);
      }
      j++;
      while (j < s.length && isWs(s.charCodeAt(j))) j++;
      const q = s.charCodeAt(j);
      if (q !== 0x22 && q !== 0x27) {
        this.i = j;
        this.fail('ClixmlMalformed', 'attribute value is not quoted');
      }
      const end = s.indexOf(q === 0x22 ? '"' : "'", j + 1);
      if (end < 0) {
        this.i = j;
        this.fail('ClixmlMalformed', 'unterminated attribute value');
      }
      if (isN) n = decodeClixmlString(this.entities(s.slice(j + 1, end)));
      else if (isRefId) refId = s.slice(j + 1, end);
      j = end + 1;
    }
  }

  /** Text up to `</name>`; consumes the end tag. */
  text(name: string): string {
    const s = this.s;
    let lt = s.indexOf('<', this.i);
    if (lt < 0) this.fail('ClixmlMalformed', `unterminated <${name}>`);
    if (!s.startsWith('<![CDATA[', lt)) {
      const raw = s.slice(this.i, lt);
      this.i = lt;
      this.endTag(name);
      return this.entities(raw);
    }
    // Text and CDATA sections, as many as the peer sends: a loop (not a call per section) and one join.
    const parts: string[] = [];
    for (;;) {
      parts.push(this.entities(s.slice(this.i, lt)));
      this.i = lt;
      if (!s.startsWith('<![CDATA[', lt)) break;
      const e = s.indexOf(']]>', lt + 9);
      if (e < 0) this.fail('ClixmlMalformed', 'unterminated CDATA');
      parts.push(s.slice(lt + 9, e));
      this.i = e + 3;
      lt = s.indexOf('<', this.i);
      if (lt < 0) this.fail('ClixmlMalformed', `unterminated <${name}>`);
    }
    this.endTag(name);
    return parts.join('');
  }

  endTag(name: string): void {
    const s = this.s;
    this.skipWs();
    if (
      s.charCodeAt(this.i) !== 0x3c ||
      s.charCodeAt(this.i + 1) !== 0x2f ||
      !s.startsWith(name, this.i + 2)
    ) {
      this.fail('ClixmlMalformed', `expected </${name}>`);
    }
    let j = this.i + 2 + name.length;
    while (j < s.length && isWs(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) !== 0x3e) {
      this.i = j;
      this.fail('ClixmlMalformed', `expected </${name}>`);
    }
    this.i = j + 1;
  }

  atEndTag(): boolean {
    this.skipWs();
    return this.s.charCodeAt(this.i) === 0x3c && this.s.charCodeAt(this.i + 1) === 0x2f;
  }

  /**
   * Reads one value element (at its '<', or just after its start tag when `tagRead`); returns the value and
   * leaves its N name in `lastName`.
   */
  value(depth: number, tagRead = false): PSValue {
    // depth counts from 0 at the root; PowerShell's ReadOneObject counts from 1 and fails on reaching 50.
    if (depth + 1 >= this.maxDepth) this.tooDeep();
    if (!tagRead) this.startTag();
    const name = this.tName;
    const n = this.tN;
    const self = this.tSelf;
    let v: PSValue;
    if (name === 'S') {
      v = self ? '' : decodeClixmlString(this.text('S'));
    } else if (name === 'Obj') {
      v = this.object({ name, n, refId: this.tRef, selfClosing: self }, depth);
    } else if (PRIMITIVES.has(name)) {
      if (name === 'Nil') {
        if (!self) this.text('Nil');
        v = null;
      } else v = this.primitive(name, self ? '' : this.text(name));
    } else if (name === 'Ref') {
      const refId = this.tRef;
      if (!self) this.endTag('Ref');
      const o = refId === undefined ? undefined : this.getRef(refId);
      if (!o) this.fail('ClixmlMalformed', `a Ref to unknown RefId ${clip(refId)}`);
      v = o;
    } else if (name === 'PR') {
      v = this.progressRecord({ name, n, refId: this.tRef, selfClosing: self }, depth);
    } else {
      return this.fail('ClixmlMalformed', `unknown element <${clip(name)}>`);
    }
    this.lastName = n;
    return v;
  }

  private primitive(name: string, raw: string): PSValue {
    switch (name) {
      case 'S':
        return decodeClixmlString(raw);
      case 'B':
        if (raw === 'true' || raw === 'True') return true;
        if (raw === 'false' || raw === 'False') return false;
        return this.fail('ClixmlMalformed', `bad Boolean ${clip(raw)}`);
      case 'I32': {
        const v = this.int(raw, -2147483648, 2147483647);
        return v;
      }
      case 'C':
        return new PSPrimitive('C', String.fromCharCode(this.int(raw, 0, 0xffff)));
      case 'By':
        return new PSPrimitive('By', this.int(raw, 0, 255));
      case 'SB':
        return new PSPrimitive('SB', this.int(raw, -128, 127));
      case 'U16':
        return new PSPrimitive('U16', this.int(raw, 0, 65535));
      case 'I16':
        return new PSPrimitive('I16', this.int(raw, -32768, 32767));
      case 'U32':
        return new PSPrimitive('U32', this.int(raw, 0, 4294967295));
      case 'I64':
        return new PSPrimitive('I64', this.bigint(raw, I64_MIN, I64_MAX));
      case 'U64':
        return new PSPrimitive('U64', this.bigint(raw, 0n, U64_MAX));
      case 'Db':
      case 'Sg':
        return new PSPrimitive(name, this.float(raw));
      case 'D': {
        const t = raw.trim();
        if (!isDecimalText(t, 0, t.length)) this.fail('ClixmlMalformed', `bad Decimal ${t.slice(0, 40)}`);
        return new PSPrimitive('D', t);
      }
      case 'BA':
        return new PSPrimitive('BA', new Uint8Array(Buffer.from(raw, 'base64')));
      case 'G':
        return new PSPrimitive('G', raw.trim().toLowerCase());
      case 'DT':
      case 'TS':
      case 'Version':
      case 'SemanticVersion':
      case 'SS':
        return new PSPrimitive(name, raw.trim());
      default:
        // URI, XD, SBK
        return new PSPrimitive(name as PrimitiveTag, decodeClixmlString(raw)) as PSPrimitive;
    }
  }

  private int(raw: string, min: number, max: number): number {
    // Hand-parsed (no trim, no regex): integers are most of the primitives in real output.
    const v = parseDecimalInt(raw);
    if (v === undefined) this.fail('ClixmlMalformed', `bad integer ${raw.slice(0, 40)}`);
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${raw.trim().slice(0, 40)} out of range`);
    return v;
  }

  private bigint(raw: string, min: bigint, max: bigint): bigint {
    const small = parseDecimalInt(raw);
    let v: bigint;
    if (small !== undefined && Number.isSafeInteger(small)) v = BigInt(small);
    else {
      const big = parseBigDecimalInt(raw.trim());
      if (big === undefined) this.fail('ClixmlMalformed', `bad integer ${raw.slice(0, 40)}`);
      if (big === 'overflow')
        this.fail('ClixmlMalformed', `integer ${raw.trim().slice(0, 40)}... out of range`);
      v = big;
    }
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${raw.trim().slice(0, 40)} out of range`);
    return v;
  }

  private float(raw: string): number {
    const t = raw.trim();
    switch (t) {
      case 'NaN':
        return Number.NaN;
      case 'INF':
      case 'Infinity':
      case '∞':
        return Number.POSITIVE_INFINITY;
      case '-INF':
      case '-Infinity':
      case '-∞':
        return Number.NEGATIVE_INFINITY;
      default:
        if (!isDecimalText(t, 0, t.length)) this.fail('ClixmlMalformed', `bad number ${t.slice(0, 40)}`);
        return Number(t);
    }
  }

  private object(t: Tag, depth: number): PSObject {
    const o = new PSObject();
    if (t.refId !== undefined) this.setRef(t.refId, o);
    if (t.selfClosing) return o;
    for (;;) {
      if (this.atEndTag()) {
        this.endTag('Obj');
        return o;
      }
      if (this.i >= this.s.length) this.fail('ClixmlMalformed', 'unterminated <Obj>');
      const cname = this.startTag();
      const cself = this.tSelf;
      const cref = this.tRef;
      switch (cname) {
        case 'TN': {
          const names: string[] = [];
          if (!cself) {
            while (!this.atEndTag()) {
              if (this.startTag() !== 'T')
                this.fail('ClixmlMalformed', `unexpected <${clip(this.tName)}> in <TN>`);
              names.push(this.tSelf ? '' : decodeClixmlString(this.text('T')));
            }
            this.endTag('TN');
          }
          if (cref !== undefined) this.tns.set(cref, names);
          o.typeNames = names;
          break;
        }
        case 'TNRef': {
          if (!cself) this.endTag('TNRef');
          const names = cref === undefined ? undefined : this.tns.get(cref);
          if (!names) this.fail('ClixmlMalformed', `a TNRef to unknown RefId ${clip(cref)}`);
          o.typeNames = names;
          break;
        }
        case 'ToString':
          o.toStringValue = cself ? '' : decodeClixmlString(this.text('ToString'));
          break;
        case 'Props':
        case 'MS':
          if (!cself) this.members(cname, cname === 'Props' ? o.adapted : o.extended, depth + 1);
          break;
        case 'DCT':
          o.baseValue = this.dictionary(cself, depth);
          break;
        default:
          if (COLLECTIONS.has(cname)) {
            const items: PSValue[] = [];
            if (!cself) {
              while (!this.atEndTag()) items.push(this.value(depth + 1));
              this.endTag(cname);
            }
            o.baseValue = new PSList(cname as CollectionKind, items);
          } else {
            // A primitive base value is part of its object (ReadPrimaryKnownType); an object is one level down.
            o.baseValue = this.value(cname === 'Obj' ? depth + 1 : depth, true);
          }
      }
    }
  }

  private members(name: string, into: Map<string, PSValue>, depth: number): void {
    // Nested <MS N=...> sets recurse here without passing through value(): each set counts as a level (PowerShell
    // does not count them, but a recursion the peer controls needs a bound; real sets nest one or two deep).
    if (depth + 1 >= this.maxDepth) this.tooDeep();
    while (!this.atEndTag()) {
      if (this.i >= this.s.length) this.fail('ClixmlMalformed', `unterminated <${name}>`);
      const tname = this.startTag();
      if (tname === 'MS' || tname === 'Props') {
        // A nested property set: `<MS N="set">` becomes a PSObject holding its members.
        const nested = new PSObject();
        const nn = this.tN;
        if (!this.tSelf) this.members(tname, nested.extended, depth + 1);
        into.set(nn ?? '', nested);
        continue;
      }
      const v = this.value(depth, true);
      into.set(this.lastName ?? '', v);
    }
    this.endTag(name);
  }

  /** `<DCT>` of an object at `depth`: keys and values are one level down (ReadDictionary's ReadOneObject). */
  private dictionary(selfClosing: boolean, depth: number): PSDictionary {
    const d = new PSDictionary();
    if (selfClosing) return d;
    while (!this.atEndTag()) {
      if (this.startTag() !== 'En') this.fail('ClixmlMalformed', `unexpected <${clip(this.tName)}> in <DCT>`);
      let key: PSValue = null;
      let value: PSValue = null;
      if (!this.tSelf) {
        while (!this.atEndTag()) {
          const v = this.value(depth + 1);
          if (this.lastName === 'Key') key = v;
          else if (this.lastName === 'Value') value = v;
        }
        this.endTag('En');
      }
      d.entries.push([key, value]);
    }
    this.endTag('DCT');
    return d;
  }

  /** The file form's ProgressRecord (`<PR>` with AV AI PI PC T SR SD CO). */
  private progressRecord(t: Tag, depth: number): PSObject {
    const names: Record<string, string> = {
      AV: 'Activity',
      AI: 'ActivityId',
      PI: 'ParentActivityId',
      PC: 'PercentComplete',
      T: 'Type',
      SR: 'SecondsRemaining',
      SD: 'StatusDescription',
      CO: 'CurrentOperation',
    };
    const o = new PSObject({ typeNames: ['System.Management.Automation.ProgressRecord', 'System.Object'] });
    if (t.selfClosing) return o;
    while (!this.atEndTag()) {
      const cname = this.startTag();
      const prop = names[cname];
      if (prop) {
        const text = this.tSelf ? '' : decodeClixmlString(this.text(cname));
        o.adapted.set(
          prop,
          prop !== 'Activity' && prop !== 'StatusDescription' && isIntegerText(text) ? Number(text) : text,
        );
      } else {
        const v = this.value(depth + 1, true);
        // serialization.cs WriteProgressRecord: CurrentOperation is the one unnamed <S> (or <Nil />) after <AI>.
        if (this.lastName) o.adapted.set(this.lastName, v);
        else if (cname === 'S' || cname === 'Nil') o.adapted.set('CurrentOperation', v);
      }
    }
    this.endTag('PR');
    return o;
  }
}

/** One value in the remoting form (a message body: one root element, no `<Objs>`). */
export function deserializeClixml(xml: string, options: DeserializeOptions = {}): PSValue {
  const max = options.maxLength ?? 512 * 1024 * 1024;
  if (xml.length > max)
    throw new ClixmlError('ClixmlTooLarge', `CLIXML of ${xml.length} characters exceeds ${max}`, 0);
  const r = new Reader(xml, options.maxDepth ?? MAX_DEPTH_BELOW_TOP_LEVEL);
  r.skipProlog();
  if (r.i >= xml.length) r.fail('ClixmlMalformed', 'no element');
  const v = r.value(0);
  r.skipWs();
  if (r.i < xml.length) r.fail('ClixmlMalformed', 'text after the root element');
  return v;
}

/** The file form (`<Objs Version=... xmlns=...>`, as Export-Clixml and `pwsh -OutputFormat xml` write). */
export function deserializeClixmlDocument(xml: string, options: DeserializeOptions = {}): PSValue[] {
  const max = options.maxLength ?? 512 * 1024 * 1024;
  if (xml.length > max)
    throw new ClixmlError('ClixmlTooLarge', `CLIXML of ${xml.length} characters exceeds ${max}`, 0);
  const r = new Reader(xml, options.maxDepth ?? MAX_DEPTH_BELOW_TOP_LEVEL);
  const out: PSValue[] = [];
  r.skipProlog();
  const root = r.startTag();
  if (root !== 'Objs') r.fail('ClixmlMalformed', `expected <Objs>, found <${clip(root)}>`);
  if (r.tSelf) return out;
  while (!r.atEndTag()) {
    if (r.i >= xml.length) r.fail('ClixmlMalformed', 'unterminated <Objs>');
    out.push(r.value(0));
  }
  r.endTag('Objs');
  return out;
}
