import { describe, expect, it } from 'vitest';
import { PsrpProtocolError } from '../errors.ts';
import { decodePacket, encodePacket, PacketLineSplitter } from './packet.ts';

const G = '00000000-0000-0000-0000-000000000000';
const P = '4b1d9e3c-1a2b-4c3d-8e9f-0123456789ab';

describe('OutOfProc packets (OutOfProcTransportManager.cs)', () => {
  it('writes exactly what PowerShell writes', () => {
    expect(encodePacket({ kind: 'Data', stream: 'Default', psGuid: G, data: Uint8Array.of(1, 2, 3) })).toBe(
      `<Data Stream='Default' PSGuid='${G}'>AQID</Data>`,
    );
    expect(encodePacket({ kind: 'Command', psGuid: P })).toBe(`<Command PSGuid='${P}' />`);
    expect(encodePacket({ kind: 'Signal', psGuid: P })).toBe(`<Signal PSGuid='${P}' />`);
    expect(encodePacket({ kind: 'Close', psGuid: G })).toBe(`<Close PSGuid='${G}' />`);
  });
  it('reads what an XmlReader in fragment mode would accept', () => {
    expect(decodePacket(`<DataAck PSGuid="${P.toUpperCase()}"/>`)).toEqual({ kind: 'DataAck', psGuid: P });
    expect(decodePacket(`<Data PSGuid='${P}' Stream='PromptResponse'>AQID</Data>\r`)).toEqual({
      kind: 'Data',
      stream: 'PromptResponse',
      psGuid: P,
      data: Buffer.from([1, 2, 3]),
    });
    expect(decodePacket(`<CloseAck PSGuid='${G}'></CloseAck>`)).toEqual({ kind: 'CloseAck', psGuid: G });
  });
  it.each([
    'hello',
    '<Data>AQID</Data>',
    `<Bogus PSGuid='${G}' />`,
    `<Data Stream='Other' PSGuid='${G}'>AA==</Data>`,
    `<Data Stream='Default' PSGuid='${G}'>not base64!</Data>`,
    `<Data Stream='Default' PSGuid='${G}'>AA==`,
    `<DataAck PSGuid='nope' />`,
  ])('refuses %j', (line) => {
    expect(() => decodePacket(line)).toThrowError(/malformed OutOfProc packet/);
  });
  it('splits lines across chunks, CRLF included, and bounds a line', () => {
    const s = new PacketLineSplitter({ maxLineLength: 16 });
    expect(s.push(Buffer.from('ab'))).toEqual([]);
    expect(s.push(Buffer.from('c\r\nde\nf'))).toEqual(['abc', 'de']);
    expect(s.pendingBytes).toBe(1);
    expect(() => s.push(Buffer.from('x'.repeat(20)))).toThrowError(/exceeds/);
  });
});

describe('OutOfProc packets: every kind, every variant PowerShell reads', () => {
  const KINDS = ['DataAck', 'Command', 'CommandAck', 'Close', 'CloseAck', 'Signal', 'SignalAck'] as const;

  it('writes each simple packet as CreatePSGuidPacket does: "<{0} PSGuid=\'{1}\' />"', () => {
    for (const kind of KINDS) {
      expect(encodePacket({ kind, psGuid: P })).toBe(`<${kind} PSGuid='${P}' />`);
      expect(decodePacket(encodePacket({ kind, psGuid: P }))).toEqual({ kind, psGuid: P });
    }
    // Guid.ToString() is lowercase; a GUID given in capitals is written as PowerShell would write it.
    expect(encodePacket({ kind: 'Signal', psGuid: P.toUpperCase() })).toBe(`<Signal PSGuid='${P}' />`);
    expect(() => encodePacket({ kind: 'Close', psGuid: 'nope' })).toThrowError(/not a GUID/);
  });

  it('writes Data as CreateDataPacket does, and reads back every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const stream of ['Default', 'PromptResponse'] as const) {
      const line = encodePacket({ kind: 'Data', stream, psGuid: P, data: all });
      expect(line).toBe(
        `<Data Stream='${stream}' PSGuid='${P}'>${Buffer.from(all).toString('base64')}</Data>`,
      );
      const back = decodePacket(line);
      expect(back.kind === 'Data' && Buffer.from(back.data).equals(Buffer.from(all))).toBe(true);
    }
  });

  it.each([
    [`<CloseAck PSGuid = "${G}" />`, 'spaces around = and double quotes'],
    [`\ufeff<CloseAck PSGuid='${G}' />`, 'a byte order mark'],
    [`  <CloseAck PSGuid='${G}'/>  \r`, 'surrounding whitespace and CR'],
    [`<CloseAck\tPSGuid='${G}'\t/>`, 'tabs'],
    [`<CloseAck PSGuid='${G}'></CloseAck >`, 'an empty element written long'],
    [`<CloseAck PSGuid='{${G}}' />`.replace(`'{${G}}'`, `'${G.toUpperCase()}'`), 'capitals'],
  ])('reads %j (%s)', (line) => {
    expect(decodePacket(line)).toEqual({ kind: 'CloseAck', psGuid: G });
  });

  it('reads Data with attributes in either order and whitespace inside the base64 text', () => {
    expect(decodePacket(`<Data PSGuid="${P}" Stream="Default">AQ ID</Data>`)).toEqual({
      kind: 'Data',
      stream: 'Default',
      psGuid: P,
      data: Buffer.from([1, 2, 3]),
    });
    expect(decodePacket(`<Data Stream='Default' PSGuid='${G}'>AQ==</Data>`)).toMatchObject({
      data: Buffer.from([1]),
    });
  });

  it.each([
    [`<CloseAck psguid='${G}' />`, 'attribute names are case-sensitive'],
    [`<CloseAck PSGuid='${G}' PSGuid='${G}' />`, 'a repeated attribute'],
    [`<CloseAck PSGuid='${G}' Extra='1' />`, 'IPCWrongAttributeCountForElement'],
    [`<CloseAck junk PSGuid='${G}' />`, 'not XML'],
    [`<CloseAck PSGuid='${G}'>text</CloseAck>`, 'content in a simple packet'],
    [`<CloseAck PSGuid='${G}'></DataAck>`, 'mismatched end tag'],
    [`<CloseAck PSGuid='${G}' /><CloseAck PSGuid='${G}' />`, 'two packets on one line'],
    [`<CloseAck PSGuid='${G}'`, 'an unclosed tag'],
    [`<Data Stream='Default' PSGuid='${G}' />`, 'Data without text (IPCInsufficientDataforElement)'],
    [`<Data Stream='Default' PSGuid='${G}'></Data>`, 'Data with empty text'],
    [`<Data PSGuid='${G}'>AQID</Data>`, 'Data without Stream (IPCWrongAttributeCountForDataElement)'],
    [`<Data Stream='Default' PSGuid='${G}' X='1'>AQID</Data>`, 'Data with a third attribute'],
    [`<Data Stream='Default' PSGuid='${G}'>AQI</Data>`, 'base64 without its padding'],
    [`<Data Stream='Default' PSGuid='${G}'>A=QI</Data>`, 'padding in the middle'],
    [`<Data Stream='Default' PSGuid='${G}'>AQID</Data>x`, 'text after the element'],
    [`<Data Stream='Default' PSGuid='${G}'><x/></Data>`, 'an element inside Data'],
    [`<CloseAck PSGuid='${G.slice(1)}' />`, 'a short GUID'],
    ['', 'an empty line'],
    ['__NamedPipeError__: boom', 'an error line'],
  ])('refuses %j (%s) with PsrpMalformedPacket', (line) => {
    let id: string | undefined;
    try {
      decodePacket(line);
    } catch (e) {
      id = (e as PsrpProtocolError).errorId;
    }
    expect(id).toBe('PsrpMalformedPacket');
  });
});

describe('PacketLineSplitter', () => {
  const enc = (s: string) => Buffer.from(s, 'utf8');

  it('keeps a UTF-8 character split across chunks whole', () => {
    const bytes = enc('é🎵x\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new PacketLineSplitter();
      expect([...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))]).toEqual(['é🎵x']);
      expect(s.pendingBytes).toBe(0);
    }
  });

  it('handles CRLF split between chunks, empty lines, many lines per chunk and a lone CR inside a line', () => {
    const s = new PacketLineSplitter();
    expect(s.push(enc('a\r'))).toEqual([]);
    expect(s.push(enc('\n\n\r\nb\nc\rd\n'))).toEqual(['a', '', '', 'b', 'c\rd']);
    expect(s.pendingBytes).toBe(0);
  });

  it('bounds a line at maxLineLength bytes, whether it comes in one chunk or many', () => {
    const ok = new PacketLineSplitter({ maxLineLength: 8 });
    expect(ok.push(enc('12345678\n'))).toEqual(['12345678']);
    expect(ok.push(enc('1234'))).toEqual([]);
    expect(ok.push(enc('5678\r\n'))).toEqual(['12345678']);
    const one = new PacketLineSplitter({ maxLineLength: 8 });
    expect(() => one.push(enc('123456789\n'))).toThrowError(PsrpProtocolError);
    const many = new PacketLineSplitter({ maxLineLength: 8 });
    let err: unknown;
    try {
      for (let i = 0; i < 100; i++) many.push(enc('12'));
    } catch (e) {
      err = e;
    }
    expect((err as PsrpProtocolError).errorId).toBe('PsrpMalformedPacket');
    expect(many.pendingBytes).toBe(0);
    expect(() => many.push(enc('\n'))).toThrowError(/exceeds/);
  });
});

describe('large Data packets', () => {
  it('decodes a 48 MiB Data line (a regular expression over it would overflow the stack)', () => {
    const data = Buffer.alloc(48 * 1024 * 1024, 0x5a);
    const p = decodePacket(encodePacket({ kind: 'Data', stream: 'Default', psGuid: G, data }));
    expect(p.kind === 'Data' && p.data.length).toBe(data.length);
    const bad = `<Data Stream='Default' PSGuid='${G}'>${'A'.repeat(48 * 1024 * 1024 - 1)}-</Data>`;
    expect(() => decodePacket(bad)).toThrowError(/not base64/);
  });
});

describe('the fast path for Data packets as PowerShell writes them agrees with the full parse', () => {
  const g = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
  const b64 = Buffer.from('hello, fragments').toString('base64');
  it.each([
    [`<Data Stream='Default' PSGuid='${g}'>${b64}</Data>`, 'the usual form'],
    [`<Data Stream='Default' PSGuid='${g}'>${b64}</Data>\r`, 'a CRLF line'],
    [`<Data Stream='Default' PSGuid='${g.toUpperCase()}'>${b64}</Data>`, 'an uppercase GUID (full parse)'],
    [
      `<Data Stream='Default' PSGuid='${g}'>${b64.slice(0, 4)} ${b64.slice(4)}</Data>`,
      'whitespace in the data (full parse)',
    ],
    [`<Data  Stream='Default' PSGuid='${g}'>${b64}</Data>`, 'two spaces (full parse)'],
  ])('%s: %s', (line) => {
    const p = decodePacket(line);
    expect(p.kind).toBe('Data');
    expect(p.psGuid).toBe(g);
    expect(Buffer.from((p as { data: Uint8Array }).data).toString()).toBe('hello, fragments');
  });
  it.each([
    [`<Data Stream='Default' PSGuid='${g}'>${b64}=</Data>`, 'bad base64'],
    [`<Data Stream='Default' PSGuid='${g}'></Data>`, 'no data'],
    [`<Data Stream='Default' PSGuid='${g.slice(0, 35)}x'>${b64}</Data>`, 'a bad GUID'],
    [`<Data Stream='Default' PSGuid='${g}'>${b64}</Data>x`, 'text after the element'],
  ])('%s: %s is still refused', (line) => {
    expect(() => decodePacket(line)).toThrowError(PsrpProtocolError);
  });
});

describe('hostile packet lines: linear scans, no regular expression over the line', () => {
  const BOUND_MS = 5000; // generous: a backtracking or recursive parse of these takes minutes or overflows
  const refuse = (line: string) => {
    const t = performance.now();
    let err: unknown;
    try {
      decodePacket(line);
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t).toBeLessThan(BOUND_MS);
    expect(err).toBeInstanceOf(PsrpProtocolError);
    expect((err as PsrpProtocolError).errorId).toBe('PsrpMalformedPacket');
    expect((err as PsrpProtocolError).message.length).toBeLessThan(500);
  };

  it.each([
    ['a million attributes', `<Data${" a='1'".repeat(1_000_000)}>AAAA</Data>`],
    ['a million attributes, self-closing', `<CloseAck${' b="2"'.repeat(1_000_000)} />`],
    ['an attribute value never closed', `<Data Stream='${'D'.repeat(1_000_000)}`],
    ['a million spaces and no >', `<Data${' '.repeat(1_000_000)}`],
    ['a name of a million letters', `<${'D'.repeat(1_000_000)} PSGuid='${G}' />`],
    ['a million = signs', `<Data a${'='.repeat(1_000_000)}`],
    [
      'an end tag padded with a million spaces then junk',
      `<CloseAck PSGuid='${G}'></CloseAck${' '.repeat(1_000_000)}x>`,
    ],
    [
      'Data whose text is a million spaces',
      `<Data Stream='Default' PSGuid='${G}'>${' '.repeat(1_000_000)}</Data>`,
    ],
    [
      'a stream name of a million letters',
      `<Data Stream='${'x'.repeat(1_000_000)}' PSGuid='${G}'>AAAA</Data>`,
    ],
    ['a PSGuid of a million hex digits', `<CloseAck PSGuid='${'a'.repeat(1_000_000)}' />`],
    ['a PSGuid of a GUID then a million hex digits', `<CloseAck PSGuid='${G}${'0'.repeat(1_000_000)}' />`],
  ])('%s: PsrpMalformedPacket at once', (_name, line) => refuse(line));

  it('base64 wrapped with whitespace every character still decodes, linearly', () => {
    const data = Buffer.alloc(300_000, 9);
    const b64 = data.toString('base64').split('').join(' ');
    const t = performance.now();
    const p = decodePacket(`<Data Stream='Default' PSGuid='${G}'>${b64}</Data>`);
    expect(performance.now() - t).toBeLessThan(BOUND_MS);
    expect(p.kind === 'Data' && Buffer.from(p.data).equals(data)).toBe(true);
  });

  it('an end tag with whitespace before > is still read', () => {
    expect(decodePacket(`<SignalAck PSGuid='${P}'>  </SignalAck \t>`)).toEqual({
      kind: 'SignalAck',
      psGuid: P,
    });
  });
});

describe('PacketLineSplitter default bound', () => {
  it('a line without newline is refused past 16 MiB, never held beyond it', () => {
    const s = new PacketLineSplitter();
    const chunk = Buffer.alloc(1 << 20, 0x41);
    let err: unknown;
    let held = 0;
    for (let i = 0; i < 20 && !err; i++) {
      try {
        s.push(chunk);
        held = Math.max(held, s.pendingBytes);
      } catch (e) {
        err = e;
      }
    }
    expect((err as PsrpProtocolError).errorId).toBe('PsrpMalformedPacket');
    expect(held).toBeLessThanOrEqual(16 << 20);
  });
});

describe('PacketLineSplitter memory', () => {
  it('3 million 1-byte pushes then a newline: the line, in bounded memory and time', () => {
    const s = new PacketLineSplitter();
    const n = 3_000_000;
    const one = Buffer.from('x');
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let peakRss = 0;
    let peakHeap = 0;
    let early = 0;
    for (let i = 0; i < n; i++) {
      // One buffer, reused: the splitter must copy what it keeps.
      one[0] = 0x61 + (i % 26);
      early += s.push(one).length;
      if (i % 500_000 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss - rss0);
        peakHeap = Math.max(peakHeap, m.heapUsed - heap0);
      }
    }
    expect(early).toBe(0);
    expect(s.pendingBytes).toBe(n);
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss - rss0);
    peakHeap = Math.max(peakHeap, m.heapUsed - heap0);
    const lines = s.push(Buffer.from('\r\n'));
    const ms = performance.now() - t0;
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line.length).toBe(n);
    for (const i of [0, 1, 25, 26, 1_234_567, n - 1]) expect(line.charCodeAt(i)).toBe(0x61 + (i % 26));
    expect(s.pendingBytes).toBe(0);
    // Generous: 3 MB are pending; a Buffer per push held about 150 times that (450 MB).
    expect(peakRss).toBeLessThan(64 * 1024 * 1024);
    expect(peakHeap).toBeLessThan(64 * 1024 * 1024);
    expect(ms).toBeLessThan(5_000);
  });

  it('lines split anywhere come out the same (the held buffer is reused and grown)', () => {
    const text = Array.from({ length: 200 }, (_, i) => `line ${i} ${'y'.repeat(i * 37)}`);
    const bytes = Buffer.from(`${text.join('\r\n')}\n`);
    for (const step of [1, 2, 3, 7, 100, 4096]) {
      const s = new PacketLineSplitter();
      const out: string[] = [];
      for (let i = 0; i < bytes.length; i += step) out.push(...s.push(bytes.subarray(i, i + step)));
      expect(out).toEqual(text);
      expect(s.pendingBytes).toBe(0);
    }
  });
});
