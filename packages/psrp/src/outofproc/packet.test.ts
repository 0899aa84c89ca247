import { describe, expect, it } from 'vitest';
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
