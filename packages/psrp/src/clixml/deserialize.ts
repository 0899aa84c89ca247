import { decodeClixmlString } from './escape.ts';
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
  /** Deepest element nesting accepted (default 256). */
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

interface Tag {
  name: string;
  n: string | undefined;
  refId: string | undefined;
  selfClosing: boolean;
}

const ENTITY = /&(?:(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);)?/g;

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
 * Resolves the predefined entities and character references; a bare `&`, an unknown entity or a reference to a
 * non-XML character is malformed, as for the XmlReader PowerShell reads with. Returns undefined then.
 */
function decodeEntities(s: string): string | undefined {
  if (s.indexOf('&') < 0) return s;
  let bad = false;
  const out = s.replace(ENTITY, (_m, e: string | undefined) => {
    switch (e) {
      case undefined:
        bad = true;
        return '';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const cp = e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
        if (!isXmlChar(cp)) {
          bad = true;
          return '';
        }
        return String.fromCodePoint(cp);
      }
    }
  });
  return bad ? undefined : out;
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
        this.fail('ClixmlMalformed', `attribute ${s.slice(an, an + attrLen)} has no value`);
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
    const lt = s.indexOf('<', this.i);
    if (lt < 0) this.fail('ClixmlMalformed', `unterminated <${name}>`);
    let raw = s.slice(this.i, lt);
    this.i = lt;
    if (s.startsWith('<![CDATA[', lt)) {
      const e = s.indexOf(']]>', lt);
      if (e < 0) this.fail('ClixmlMalformed', 'unterminated CDATA');
      raw = this.entities(raw) + s.slice(lt + 9, e);
      this.i = e + 3;
      return raw + this.text(name);
    }
    this.endTag(name);
    return this.entities(raw);
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
    if (depth > this.maxDepth) this.fail('ClixmlDepthExceeded', `nesting deeper than ${this.maxDepth}`);
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
      if (!o) this.fail('ClixmlMalformed', `a Ref to unknown RefId ${refId}`);
      v = o;
    } else if (name === 'PR') {
      v = this.progressRecord({ name, n, refId: this.tRef, selfClosing: self }, depth);
    } else {
      return this.fail('ClixmlMalformed', `unknown element <${name}>`);
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
        return this.fail('ClixmlMalformed', `bad Boolean ${raw}`);
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
      case 'D':
        if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw))
          this.fail('ClixmlMalformed', `bad Decimal ${raw}`);
        return new PSPrimitive('D', raw.trim());
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
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${raw.trim()} out of range`);
    return v;
  }

  private bigint(raw: string, min: bigint, max: bigint): bigint {
    const small = parseDecimalInt(raw);
    let v: bigint;
    if (small !== undefined && Number.isSafeInteger(small)) v = BigInt(small);
    else {
      const t = raw.trim();
      if (!/^[+-]?\d+$/.test(t)) this.fail('ClixmlMalformed', `bad integer ${raw.slice(0, 40)}`);
      v = BigInt(t);
    }
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${raw.trim()} out of range`);
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
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
          this.fail('ClixmlMalformed', `bad number ${t.slice(0, 40)}`);
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
              if (this.startTag() !== 'T') this.fail('ClixmlMalformed', `unexpected <${this.tName}> in <TN>`);
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
          if (!names) this.fail('ClixmlMalformed', `a TNRef to unknown RefId ${cref}`);
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
          o.baseValue = this.dictionary(cself, depth + 1);
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
            o.baseValue = this.value(depth + 1, true);
          }
      }
    }
  }

  private members(name: string, into: Map<string, PSValue>, depth: number): void {
    // Nested <MS N=...> sets recurse here without passing through value(): bound them too.
    if (depth > this.maxDepth) this.fail('ClixmlDepthExceeded', `nesting deeper than ${this.maxDepth}`);
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

  private dictionary(selfClosing: boolean, depth: number): PSDictionary {
    const d = new PSDictionary();
    if (selfClosing) return d;
    while (!this.atEndTag()) {
      if (this.startTag() !== 'En') this.fail('ClixmlMalformed', `unexpected <${this.tName}> in <DCT>`);
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
          /^-?\d+$/.test(text) && prop !== 'Activity' && prop !== 'StatusDescription' ? Number(text) : text,
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
  const r = new Reader(xml, options.maxDepth ?? 256);
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
  const r = new Reader(xml, options.maxDepth ?? 256);
  const out: PSValue[] = [];
  r.skipProlog();
  const root = r.startTag();
  if (root !== 'Objs') r.fail('ClixmlMalformed', `expected <Objs>, found <${root}>`);
  if (r.tSelf) return out;
  while (!r.atEndTag()) {
    if (r.i >= xml.length) r.fail('ClixmlMalformed', 'unterminated <Objs>');
    out.push(r.value(1));
  }
  r.endTag('Objs');
  return out;
}
