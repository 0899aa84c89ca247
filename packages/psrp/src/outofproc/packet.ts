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

/** The text PowerShell writes: single quotes, a space before `/>`, no newline (the writer adds it). */
export function encodePacket(p: OutOfProcPacket): string {
  if (p.kind === 'Data') {
    return `<Data Stream='${p.stream}' PSGuid='${p.psGuid}'>${Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('base64')}</Data>`;
  }
  return `<${p.kind} PSGuid='${p.psGuid}' />`;
}

const ATTR = /([A-Za-z]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function malformed(line: string, why: string): PsrpProtocolError {
  return new PsrpProtocolError(
    'PsrpMalformedPacket',
    `malformed OutOfProc packet (${why}): ${line.slice(0, 120)}`,
  );
}

/** Parses one packet line, tolerant as an XmlReader in fragment mode (quotes, attribute order, spaces). */
export function decodePacket(line: string): OutOfProcPacket {
  const text = line.trim();
  const open = /^<([A-Za-z]+)(\s[^>]*?)?\s*(\/?)>/.exec(text);
  if (!open) throw malformed(text, 'not an element');
  const name = open[1] as string;
  const attrs = new Map<string, string>();
  for (const m of (open[2] ?? '').matchAll(ATTR))
    attrs.set((m[1] as string).toLowerCase(), (m[2] ?? m[3]) as string);
  const psGuid = attrs.get('psguid');
  if (!psGuid || !GUID.test(psGuid)) throw malformed(text, 'missing or bad PSGuid');
  const guid = psGuid.toLowerCase();
  const selfClosing = open[3] === '/';
  if (name === 'Data') {
    const stream = attrs.get('stream') ?? 'Default';
    if (stream !== 'Default' && stream !== 'PromptResponse')
      throw malformed(text, `unknown stream ${stream}`);
    let body = '';
    if (!selfClosing) {
      const rest = text.slice(open[0].length);
      const close = rest.lastIndexOf('</Data>');
      if (close < 0) throw malformed(text, 'no </Data>');
      body = rest.slice(0, close).trim();
      if (rest.slice(close + 7).trim() !== '') throw malformed(text, 'text after </Data>');
      if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) throw malformed(text, 'data is not base64');
    }
    return { kind: 'Data', stream, psGuid: guid, data: Buffer.from(body, 'base64') };
  }
  if (!SIMPLE.has(name)) throw malformed(text, `unknown packet ${name}`);
  if (!selfClosing && !new RegExp(`^<${name}[^>]*>\\s*</${name}>$`).test(text))
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
  private readonly maxLineLength: number;

  constructor(options: { maxLineLength?: number } = {}) {
    this.maxLineLength = options.maxLineLength ?? 64 * 1024 * 1024;
  }

  get pendingBytes(): number {
    return this.size;
  }

  push(chunk: Uint8Array): string[] {
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
      if (piece.length > this.maxLineLength) throw this.tooLong();
      const end = piece.length > 0 && piece[piece.length - 1] === 0x0d ? piece.length - 1 : piece.length;
      lines.push(piece.toString('utf8', 0, end));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) {
      this.size += buf.length;
      if (this.size > this.maxLineLength) throw this.tooLong();
      this.parts.push(Buffer.from(buf));
    }
    return lines;
  }

  private tooLong(): PsrpProtocolError {
    return new PsrpProtocolError(
      'PsrpMalformedPacket',
      `an OutOfProc line exceeds ${this.maxLineLength} bytes`,
    );
  }
}
