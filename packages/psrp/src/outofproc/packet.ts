import { PsrpProtocolError } from '../errors.ts';

/** OutOfProc packets (protocols.md 3.1; PowerShell OutOfProcTransportManager.cs OutOfProcessUtils). */
export type OutOfProcPacket =
  | {
      readonly kind: 'Data';
      readonly stream: 'Default' | 'PromptResponse';
      readonly psGuid: string;
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'DataAck' | 'Command' | 'CommandAck' | 'Close' | 'CloseAck' | 'Signal' | 'SignalAck';
      readonly psGuid: string;
    };

const SIMPLE = new Set(['DataAck', 'Command', 'CommandAck', 'Close', 'CloseAck', 'Signal', 'SignalAck']);
// Anchored, fixed-length: it looks at no more than 36 characters of any input.
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The text PowerShell writes (OutOfProcTransportManager.cs OutOfProcessUtils.CreateDataPacket and
 * CreatePSGuidPacket): single quotes, `Guid.ToString()` (lowercase), a space before `/>`, no newline (the
 * writer's WriteLine adds it).
 */
export function encodePacket(p: OutOfProcPacket): string {
  if (!GUID.test(p.psGuid)) {
    throw new PsrpProtocolError('PsrpInvalidGuid', `not a GUID: ${p.psGuid}`, { remote: false });
  }
  const guid = p.psGuid.toLowerCase();
  if (p.kind === 'Data') {
    return `<Data Stream='${p.stream}' PSGuid='${guid}'>${Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('base64')}</Data>`;
  }
  return `<${p.kind} PSGuid='${guid}' />`;
}

function malformed(line: string, why: string): PsrpProtocolError {
  return new PsrpProtocolError(
    'PsrpMalformedPacket',
    `malformed OutOfProc packet (${why.length > 200 ? `${why.slice(0, 200)}...` : why}): ${line.slice(0, 120)}`,
  );
}

/** XML whitespace (XML 1.0 S). */
function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** `[A-Za-z]` starts a name as PowerShell's packets use them (ASCII; no namespaces). */
function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** `[A-Za-z0-9_.-]` continues one. */
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

/** The end of the name starting at `i` (i itself when there is none). */
function nameEnd(s: string, i: number): number {
  if (!isNameStart(s.charCodeAt(i))) return i;
  let j = i + 1;
  while (j < s.length && isNameChar(s.charCodeAt(j))) j++;
  return j;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** A packet's start tag: its name, attributes (at most two: no packet has more), and where it ends. */
interface StartTag {
  readonly name: string;
  readonly attrs: Map<string, string>;
  readonly selfClosing: boolean;
  readonly end: number;
}

/**
 * Reads `<name (ws attr ws? = ws? 'value'|"value")* ws? /?>` at the start of `text`, left to right with no
 * backtracking; a line of a million attributes is refused at the third (the regular expression this replaces
 * overflowed its stack on one).
 */
function readStartTag(text: string): StartTag {
  if (text.charCodeAt(0) !== 0x3c) throw malformed(text, 'not an element');
  const ne = nameEnd(text, 1);
  if (ne === 1) throw malformed(text, 'not an element');
  const name = text.slice(1, ne);
  const attrs = new Map<string, string>();
  let i = ne;
  for (;;) {
    const afterWs = skipWs(text, i);
    const c = text.charCodeAt(afterWs);
    if (c === 0x3e) return { name, attrs, selfClosing: false, end: afterWs + 1 };
    if (c === 0x2f && text.charCodeAt(afterWs + 1) === 0x3e)
      return { name, attrs, selfClosing: true, end: afterWs + 2 };
    // An attribute needs whitespace before it.
    if (afterWs === i) throw malformed(text, 'not an element');
    const an = nameEnd(text, afterWs);
    if (an === afterWs) throw malformed(text, 'not an element');
    let j = skipWs(text, an);
    if (text.charCodeAt(j) !== 0x3d) throw malformed(text, 'not an element');
    j = skipWs(text, j + 1);
    const q = text.charCodeAt(j);
    if (q !== 0x27 && q !== 0x22) throw malformed(text, 'not an element');
    let k = j + 1;
    while (k < text.length && text.charCodeAt(k) !== q && text.charCodeAt(k) !== 0x3c) k++;
    if (text.charCodeAt(k) !== q) throw malformed(text, 'not an element');
    const key = text.slice(afterWs, an);
    if (attrs.has(key)) throw malformed(text, `attribute ${key.slice(0, 40)} twice`);
    if (attrs.size === 2) throw malformed(text, `<${name.slice(0, 40)}> has more than two attributes`);
    attrs.set(key, text.slice(j + 1, k));
    i = k + 1;
  }
}

/** Removes XML whitespace (base64 text may be wrapped); one pass. */
function stripWs(s: string): string {
  let i = 0;
  while (i < s.length && !isWs(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  const parts: string[] = [];
  let start = 0;
  while (i < s.length) {
    parts.push(s.slice(start, i));
    while (i < s.length && isWs(s.charCodeAt(i))) i++;
    start = i;
    while (i < s.length && !isWs(s.charCodeAt(i))) i++;
  }
  parts.push(s.slice(start, i));
  return parts.join('');
}

/**
 * Decodes base64 as strictly as Convert.FromBase64String (whole 4-character groups, `=` only at the end), or
 * returns undefined. Node's decoder skips characters it does not know and reads `-`/`_` (base64url), so a
 * string is valid exactly when it has neither and decodes to the length its size and padding promise. (No
 * regular expression over the text: a repeated group over a 64 MiB line overflows the regex engine's stack.)
 */
function strictBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || s.includes('-') || s.includes('_')) return undefined;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(s, 'base64');
  return bytes.length === (s.length / 4) * 3 - pad ? bytes : undefined;
}

/**
 * Parses one packet line the way PowerShell's OutOfProcessUtils.ProcessData does: an XmlReader in fragment
 * mode (either quote style, any attribute order, whitespace, `\r`, `<X></X>` for `<X/>`), then its checks:
 * `<Data>` has exactly the Stream and PSGuid attributes and base64 text; every other packet has exactly one
 * PSGuid attribute and no content. Anything else is a PsrpProtocolError('PsrpMalformedPacket').
 */
export function decodePacket(line: string): OutOfProcPacket {
  return fastDataPacket(line) ?? parsePacket(line);
}

const FAST_PREFIX = "<Data Stream='Default' PSGuid='";
const FAST_GUID_END = FAST_PREFIX.length + 36;

/**
 * The Data packet exactly as PowerShell writes it (encodePacket's form, lowercase GUID), read without regular
 * expressions: nearly every line of a large output. Anything else (or anything odd) returns undefined and gets
 * the full parse.
 */
function fastDataPacket(line: string): OutOfProcPacket | undefined {
  const end = line.endsWith('\r') ? line.length - 1 : line.length;
  if (
    !line.startsWith(FAST_PREFIX) ||
    line.charCodeAt(FAST_GUID_END) !== 0x27 ||
    line.charCodeAt(FAST_GUID_END + 1) !== 0x3e ||
    !line.endsWith('</Data>', end)
  )
    return undefined;
  const guid = line.slice(FAST_PREFIX.length, FAST_GUID_END);
  if (!isLowerGuid(guid)) return undefined;
  const body = line.slice(FAST_GUID_END + 2, end - 7);
  const data = body === '' ? undefined : strictBase64(body);
  return data ? { kind: 'Data', stream: 'Default', psGuid: guid, data } : undefined;
}

/** 8-4-4-4-12 lowercase hex digits. */
function isLowerGuid(g: string): boolean {
  if (g.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = g.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function parsePacket(line: string): OutOfProcPacket {
  // String.prototype.trim also drops a U+FEFF byte order mark.
  const text = line.trim();
  const { name, attrs, selfClosing, end } = readStartTag(text);
  // Attribute names are case-sensitive in XML; PowerShell asks for exactly "PSGuid" and "Stream".
  const psGuid = attrs.get('PSGuid');
  if (psGuid === undefined || !GUID.test(psGuid)) throw malformed(text, 'missing or bad PSGuid');
  const guid = psGuid.toLowerCase();
  const rest = text.slice(end);
  if (name === 'Data') {
    const stream = attrs.get('Stream');
    if (attrs.size !== 2 || stream === undefined)
      throw malformed(text, '<Data> needs exactly Stream and PSGuid');
    if (stream !== 'Default' && stream !== 'PromptResponse')
      throw malformed(text, `unknown stream ${stream.slice(0, 40)}`);
    // ProcessElement: the element must hold text (IPCInsufficientDataforElement / IPCOnlyTextExpectedInDataElement).
    if (selfClosing) throw malformed(text, '<Data> without data');
    if (!rest.endsWith('</Data>')) throw malformed(text, 'no </Data> at the end');
    const raw = rest.slice(0, -'</Data>'.length);
    const body = stripWs(raw);
    if (body === '') throw malformed(text, '<Data> without data');
    const data = strictBase64(body);
    if (!data) throw malformed(text, 'data is not base64');
    return { kind: 'Data', stream, psGuid: guid, data };
  }
  if (!SIMPLE.has(name)) throw malformed(text, `unknown packet ${name.slice(0, 40)}`);
  if (attrs.size !== 1) throw malformed(text, `<${name}> needs exactly one PSGuid attribute`);
  if (selfClosing ? rest !== '' : !isEndTag(rest, name)) throw malformed(text, 'unexpected content');
  return { kind: name as 'DataAck', psGuid: guid };
}

/** `ws* </name ws* >` and nothing else. */
function isEndTag(rest: string, name: string): boolean {
  const i = skipWs(rest, 0);
  if (rest.charCodeAt(i) !== 0x3c || rest.charCodeAt(i + 1) !== 0x2f || !rest.startsWith(name, i + 2))
    return false;
  const j = skipWs(rest, i + 2 + name.length);
  return rest.charCodeAt(j) === 0x3e && j + 1 === rest.length;
}

/**
 * The default bound on one OutOfProc line, in bytes: 16 MiB carries a fragment of 12 MiB in base64, more than
 * the default MaximumReceivedObjectSize (10 MiB) lets through (PowerShell itself writes one fragment of at most
 * 32 KiB per line).
 */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

/** A held buffer above this many bytes is let go once its line is out (it is not kept for the next line). */
const KEEP_CAPACITY = 64 * 1024;

/**
 * Splits a byte stream into UTF-8 lines (`\n` or `\r\n`), across chunk boundaries. A line longer than
 * `maxLineLength` bytes (default DEFAULT_MAX_LINE_LENGTH) is a protocol error: a peer cannot make us buffer
 * without bound. The bytes of an unfinished line are held in one buffer whose capacity doubles (bounded by the
 * cap), so a peer writing one byte at a time costs about those bytes, not an object per chunk, and no byte is
 * copied more than about twice; lines a chunk holds whole are read from the chunk, without copying.
 */
export class PacketLineSplitter {
  private held: Buffer | undefined;
  private size = 0;
  private failed: PsrpProtocolError | undefined;
  private readonly maxLineLength: number;

  constructor(options: { maxLineLength?: number } = {}) {
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  }

  get pendingBytes(): number {
    return this.size;
  }

  push(chunk: Uint8Array): string[] {
    // After a too-long line the framing is lost: every later push fails the same way.
    if (this.failed) throw this.failed;
    const lines: string[] = [];
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) break;
      let piece = buf.subarray(0, nl);
      if (this.size > 0) {
        // One byte more may be the CR before the LF.
        if (this.size + nl > this.maxLineLength + 1) throw this.tooLong();
        this.append(piece);
        piece = (this.held as Buffer).subarray(0, this.size);
        this.size = 0;
        if ((this.held as Buffer).length > KEEP_CAPACITY) this.held = undefined;
      }
      const end = piece.length > 0 && piece[piece.length - 1] === 0x0d ? piece.length - 1 : piece.length;
      if (end > this.maxLineLength) throw this.tooLong();
      lines.push(piece.toString('utf8', 0, end));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) {
      // One byte more may be the CR of a CRLF still to come.
      if (this.size + buf.length > this.maxLineLength + 1) throw this.tooLong();
      // Copied: the caller may reuse its buffer once push returns.
      this.append(buf);
    }
    return lines;
  }

  /** Appends to the held bytes (the caller has checked the total against the cap). */
  private append(bytes: Buffer): void {
    const want = this.size + bytes.length;
    const held = this.held;
    if (!held || held.length < want) {
      const cap = Math.max(want, Math.min(Math.max(2 * (held?.length ?? 0), 256), this.maxLineLength + 1));
      const grown = Buffer.allocUnsafe(cap);
      if (held && this.size > 0) held.copy(grown, 0, 0, this.size);
      this.held = grown;
    }
    bytes.copy(this.held as Buffer, this.size);
    this.size = want;
  }

  private tooLong(): PsrpProtocolError {
    this.held = undefined;
    this.size = 0;
    this.failed = new PsrpProtocolError(
      'PsrpMalformedPacket',
      `an OutOfProc line exceeds ${this.maxLineLength} bytes`,
    );
    return this.failed;
  }
}
