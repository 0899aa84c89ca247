import { describe, expect, it } from 'vitest';
import { guidFromBytes, guidToBytes } from './guid.ts';
import { decodeMessage, encodeMessage, MessageType, messageTypeName } from './message/header.ts';

describe('GUIDs in .NET byte order and the message header (MS-PSRP 2.2.1)', () => {
  it('matches [guid]::ToByteArray()', () => {
    // [guid]'00112233-4455-6677-8899-aabbccddeeff'.ToByteArray() in pwsh
    const b = guidToBytes('00112233-4455-6677-8899-aabbccddeeff');
    expect(Buffer.from(b).toString('hex')).toBe('33221100554477668899aabbccddeeff');
    expect(guidFromBytes(b)).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });
  it('writes little-endian destination and type and strips the BOM on read', () => {
    const m = encodeMessage({
      destination: 2,
      messageType: MessageType.SESSION_CAPABILITY,
      runspacePoolId: '00112233-4455-6677-8899-aabbccddeeff',
      pipelineId: '00000000-0000-0000-0000-000000000000',
      data: Buffer.from('\ufeff<Obj/>'),
    });
    expect(Buffer.from(m.subarray(0, 8)).toString('hex')).toBe('0200000002000100');
    const d = decodeMessage(m);
    expect(Buffer.from(d.data).toString()).toBe('<Obj/>');
    expect(d.runspacePoolId).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(messageTypeName(d.messageType)).toBe('SESSION_CAPABILITY');
    expect(messageTypeName(0x12345)).toBe('Unknown(0x00012345)');
    expect(() => decodeMessage(new Uint8Array(10))).toThrowError(/40 header bytes/);
  });
});

describe('guidFromBytes reuses recent strings only for the same bytes', () => {
  it('gives the right text after the bytes at an offset change, and past the cache size', () => {
    const b = Buffer.from('00112233445566778899aabbccddeeff'.repeat(2), 'hex');
    expect(guidFromBytes(b, 16)).toBe('33221100-5544-7766-8899-aabbccddeeff');
    b[16] = 0xff;
    expect(guidFromBytes(b, 16)).toBe('332211ff-5544-7766-8899-aabbccddeeff');
    for (let i = 0; i < 10; i++) {
      const h = i.toString(16).padStart(2, '0');
      expect(guidFromBytes(Buffer.alloc(16, i))).toBe(
        `${h.repeat(4)}-${h.repeat(2)}-${h.repeat(2)}-${h.repeat(2)}-${h.repeat(6)}`,
      );
    }
  });
});
