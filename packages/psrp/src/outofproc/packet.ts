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
    `malformed OutOfProc packet (${why}): ${line.slice(0, 120)}`,
  );
}

// XML 1.0 names as PowerShell's packets use them (ASCII letters; no namespaces).
const OPEN_TAG = /^<([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*\s*=\s*(?:'[^'<]*'|"[^"<]*"))*)\s*(\/?)>/;
const ATTR = /([A-Za-z][\w.-]*)\s*=\s*(?:'([^'<]*)'|"([^"<]*)")/g;

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
  const open = OPEN_TAG.exec(text);
  if (!open) throw malformed(text, 'not an element');
  const name = open[1] as string;
  const attrs = new Map<string, string>();
  for (const m of (open[2] as string).matchAll(ATTR)) {
    const key = m[1] as string;
    if (attrs.has(key)) throw malformed(text, `attribute ${key} twice`);
    attrs.set(key, (m[2] ?? m[3]) as string);
  }
  // Attribute names are case-sensitive in XML; PowerShell asks for exactly "PSGuid" and "Stream".
  const psGuid = attrs.get('PSGuid');
  if (psGuid === undefined || !GUID.test(psGuid)) throw malformed(text, 'missing or bad PSGuid');
  const guid = psGuid.toLowerCase();
  const selfClosing = open[3] === '/';
  const rest = text.slice(open[0].length);
  if (name === 'Data') {
    const stream = attrs.get('Stream');
    if (attrs.size !== 2 || stream === undefined)
      throw malformed(text, '<Data> needs exactly Stream and PSGuid');
    if (stream !== 'Default' && stream !== 'PromptResponse')
      throw malformed(text, `unknown stream ${stream}`);
    // ProcessElement: the element must hold text (IPCInsufficientDataforElement / IPCOnlyTextExpectedInDataElement).
    if (selfClosing) throw malformed(text, '<Data> without data');
    if (!rest.endsWith('</Data>')) throw malformed(text, 'no </Data> at the end');
    const raw = rest.slice(0, -'</Data>'.length);
    const body = /[ \t\r\n]/.test(raw) ? raw.replace(/[ \t\r\n]+/g, '') : raw;
    if (body === '') throw malformed(text, '<Data> without data');
    const data = strictBase64(body);
    if (!data) throw malformed(text, 'data is not base64');
    return { kind: 'Data', stream, psGuid: guid, data };
  }
  if (!SIMPLE.has(name)) throw malformed(text, `unknown packet ${name}`);
  if (attrs.size !== 1) throw malformed(text, `<${name}> needs exactly one PSGuid attribute`);
  const content = selfClosing ? rest : /^\s*<\/([A-Za-z][\w.-]*)\s*>(.*)$/.exec(rest);
  if (typeof content === 'string' ? content !== '' : !content || content[1] !== name || content[2] !== '')
    throw malformed(text, 'unexpected content');
  return { kind: name as 'DataAck', psGuid: guid };
}

/**
 * Splits a byte stream into UTF-8 lines (`\n` or `\r\n`), across chunk boundaries. A line longer than
 * `maxLineLength` bytes is a protocol error: a peer cannot make us buffer without bound.
 */
export class PacketLineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private failed: PsrpProtocolError | undefined;
  private readonly maxLineLength: number;

  constructor(options: { maxLineLength?: number } = {}) {
    this.maxLineLength = options.maxLineLength ?? 64 * 1024 * 1024;
  }

  get pendingBytes(): number {
    return this.size;
  }

  push(chunk: Uint8Array): string[] {
    // After a too-long line the framing is lost: every later push fails the same way.
    if (this.failed) throw this.failed;
    const lines: string[] = [];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl < 0) break;
      let piece = buf.subarray(0, nl);
      if (this.size > 0) {
        piece = Buffer.concat([...this.parts, piece]);
        this.parts = [];
        this.size = 0;
      }
      const end = piece.length > 0 && piece[piece.length - 1] === 0x0d ? piece.length - 1 : piece.length;
      if (end > this.maxLineLength) throw this.tooLong();
      lines.push(piece.toString('utf8', 0, end));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) {
      this.size += buf.length;
      // One byte more may be the CR of a CRLF still to come.
      if (this.size > this.maxLineLength + 1) throw this.tooLong();
      this.parts.push(Buffer.from(buf));
    }
    return lines;
  }

  private tooLong(): PsrpProtocolError {
    this.parts = [];
    this.size = 0;
    this.failed = new PsrpProtocolError(
      'PsrpMalformedPacket',
      `an OutOfProc line exceeds ${this.maxLineLength} bytes`,
    );
    return this.failed;
  }
}
