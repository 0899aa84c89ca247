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

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g;
function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(ENTITY, (m, e: string) => {
    switch (e) {
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
        return cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
    }
  });
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

class Reader {
  readonly s: string;
  i = 0;
  private readonly maxDepth: number;
  private readonly refs = new Map<string, PSObject>();
  private readonly tns = new Map<string, string[]>();

  constructor(s: string, maxDepth: number) {
    this.s = s;
    this.maxDepth = maxDepth;
  }

  fail(id: string, message: string): never {
    throw new ClixmlError(id, message, this.i);
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

  /** At '<': reads a start tag. */
  startTag(): Tag {
    const s = this.s;
    if (s.charCodeAt(this.i) !== 0x3c) this.fail('ClixmlMalformed', 'expected an element');
    let j = this.i + 1;
    const nameStart = j;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x3e || c === 0x2f || isWs(c)) break;
      j++;
    }
    const name = s.slice(nameStart, j);
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
        return { name, n, refId, selfClosing: false };
      }
      if (c === 0x2f) {
        if (s.charCodeAt(j + 1) !== 0x3e) {
          this.i = j;
          this.fail('ClixmlMalformed', 'bad self-closing tag');
        }
        this.i = j + 2;
        return { name, n, refId, selfClosing: true };
      }
      const an = j;
      while (j < s.length && s.charCodeAt(j) !== 0x3d && !isWs(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x3e)
        j++;
      const attr = s.slice(an, j);
      while (j < s.length && isWs(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) !== 0x3d) {
        this.i = j;
        this.fail('ClixmlMalformed', `attribute ${attr} has no value`);
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
      const value = decodeEntities(s.slice(j + 1, end));
      j = end + 1;
      if (attr === 'N') n = decodeClixmlString(value);
      else if (attr === 'RefId') refId = value;
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
      raw = decodeEntities(raw) + s.slice(lt + 9, e);
      this.i = e + 3;
      return raw + this.text(name);
    }
    this.endTag(name);
    return decodeEntities(raw);
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

  /** Reads one value element (the cursor is at its '<'); returns its N name and value. */
  value(depth: number, tag?: Tag): [string | undefined, PSValue] {
    if (depth > this.maxDepth) this.fail('ClixmlDepthExceeded', `nesting deeper than ${this.maxDepth}`);
    const t = tag ?? this.startTag();
    if (PRIMITIVES.has(t.name)) {
      if (t.name === 'Nil') {
        if (!t.selfClosing) this.text('Nil');
        return [t.n, null];
      }
      const text = t.selfClosing ? '' : this.text(t.name);
      return [t.n, this.primitive(t.name, text)];
    }
    if (t.name === 'Obj') return [t.n, this.object(t, depth)];
    if (t.name === 'Ref') {
      if (!t.selfClosing) this.endTag('Ref');
      const o = t.refId === undefined ? undefined : this.refs.get(t.refId);
      if (!o) this.fail('ClixmlMalformed', `a Ref to unknown RefId ${t.refId}`);
      return [t.n, o];
    }
    if (t.name === 'PR') return [t.n, this.progressRecord(t, depth)];
    return this.fail('ClixmlMalformed', `unknown element <${t.name}>`);
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
        return new PSPrimitive('I64', this.bigint(raw, -(2n ** 63n), 2n ** 63n - 1n));
      case 'U64':
        return new PSPrimitive('U64', this.bigint(raw, 0n, 2n ** 64n - 1n));
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
    const t = raw.trim();
    if (!/^[+-]?\d+$/.test(t)) this.fail('ClixmlMalformed', `bad integer ${raw.slice(0, 40)}`);
    const v = Number(t);
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${t} out of range`);
    return v;
  }

  private bigint(raw: string, min: bigint, max: bigint): bigint {
    const t = raw.trim();
    if (!/^[+-]?\d+$/.test(t)) this.fail('ClixmlMalformed', `bad integer ${raw.slice(0, 40)}`);
    const v = BigInt(t);
    if (v < min || v > max) this.fail('ClixmlMalformed', `integer ${t} out of range`);
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
    if (t.refId !== undefined) this.refs.set(t.refId, o);
    if (t.selfClosing) return o;
    for (;;) {
      if (this.atEndTag()) {
        this.endTag('Obj');
        return o;
      }
      if (this.i >= this.s.length) this.fail('ClixmlMalformed', 'unterminated <Obj>');
      const c = this.startTag();
      switch (c.name) {
        case 'TN': {
          const names: string[] = [];
          if (!c.selfClosing) {
            while (!this.atEndTag()) {
              const tt = this.startTag();
              if (tt.name !== 'T') this.fail('ClixmlMalformed', `unexpected <${tt.name}> in <TN>`);
              names.push(tt.selfClosing ? '' : decodeClixmlString(this.text('T')));
            }
            this.endTag('TN');
          }
          if (c.refId !== undefined) this.tns.set(c.refId, names);
          o.typeNames = names;
          break;
        }
        case 'TNRef': {
          if (!c.selfClosing) this.endTag('TNRef');
          const names = c.refId === undefined ? undefined : this.tns.get(c.refId);
          if (!names) this.fail('ClixmlMalformed', `a TNRef to unknown RefId ${c.refId}`);
          o.typeNames = [...names];
          break;
        }
        case 'ToString':
          o.toStringValue = c.selfClosing ? '' : decodeClixmlString(this.text('ToString'));
          break;
        case 'Props':
        case 'MS':
          if (!c.selfClosing) this.members(c.name, c.name === 'Props' ? o.adapted : o.extended, depth + 1);
          break;
        case 'DCT':
          o.baseValue = this.dictionary(c, depth + 1);
          break;
        default:
          if (COLLECTIONS.has(c.name)) {
            const items: PSValue[] = [];
            if (!c.selfClosing) {
              while (!this.atEndTag()) items.push(this.value(depth + 1)[1]);
              this.endTag(c.name);
            }
            o.baseValue = new PSList(c.name as CollectionKind, items);
          } else {
            o.baseValue = this.value(depth + 1, c)[1];
          }
      }
    }
  }

  private members(name: string, into: Map<string, PSValue>, depth: number): void {
    while (!this.atEndTag()) {
      if (this.i >= this.s.length) this.fail('ClixmlMalformed', `unterminated <${name}>`);
      const t = this.startTag();
      if (t.name === 'MS' || t.name === 'Props') {
        // A nested property set: `<MS N="set">` becomes a PSObject holding its members.
        const nested = new PSObject();
        if (!t.selfClosing) this.members(t.name, nested.extended, depth + 1);
        into.set(t.n ?? '', nested);
        continue;
      }
      const [n, v] = this.value(depth, t);
      into.set(n ?? '', v);
    }
    this.endTag(name);
  }

  private dictionary(t: Tag, depth: number): PSDictionary {
    const d = new PSDictionary();
    if (t.selfClosing) return d;
    while (!this.atEndTag()) {
      const en = this.startTag();
      if (en.name !== 'En') this.fail('ClixmlMalformed', `unexpected <${en.name}> in <DCT>`);
      let key: PSValue = null;
      let value: PSValue = null;
      if (!en.selfClosing) {
        while (!this.atEndTag()) {
          const [n, v] = this.value(depth + 1);
          if (n === 'Key') key = v;
          else if (n === 'Value') value = v;
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
      const c = this.startTag();
      const prop = names[c.name];
      if (prop) {
        const text = c.selfClosing ? '' : decodeClixmlString(this.text(c.name));
        o.adapted.set(
          prop,
          /^-?\d+$/.test(text) && prop !== 'Activity' && prop !== 'StatusDescription' ? Number(text) : text,
        );
      } else {
        const [n, v] = this.value(depth + 1, c);
        if (n) o.adapted.set(n, v);
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
  const [, v] = r.value(0);
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
  if (root.name !== 'Objs') r.fail('ClixmlMalformed', `expected <Objs>, found <${root.name}>`);
  if (root.selfClosing) return out;
  while (!r.atEndTag()) {
    if (r.i >= xml.length) r.fail('ClixmlMalformed', 'unterminated <Objs>');
    out.push(r.value(1)[1]);
  }
  r.endTag('Objs');
  return out;
}
