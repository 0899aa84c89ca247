import { describe, expect, it } from 'vitest';
import { PsrpProtocolError } from '../errors.ts';
import { EMPTY_GUID, guidFromBytes, guidToBytes, newGuid } from '../guid.ts';
import {
  Destination,
  decodeMessage,
  encodeMessage,
  isKnownMessageType,
  MessageType,
  messageTypeName,
} from './header.ts';

/** MS-PSRP 2.2.1's table, plus the two codes only PowerShell's source has (EncodeAndDecode.cs RemotingDataType). */
const SPEC: Array<[string, number]> = [
  ['SESSION_CAPABILITY', 0x00010002],
  ['INIT_RUNSPACEPOOL', 0x00010004],
  ['PUBLIC_KEY', 0x00010005],
  ['ENCRYPTED_SESSION_KEY', 0x00010006],
  ['PUBLIC_KEY_REQUEST', 0x00010007],
  ['CONNECT_RUNSPACEPOOL', 0x00010008],
  ['SET_MAX_RUNSPACES', 0x00021002],
  ['SET_MIN_RUNSPACES', 0x00021003],
  ['RUNSPACE_AVAILABILITY', 0x00021004],
  ['RUNSPACEPOOL_STATE', 0x00021005],
  ['CREATE_PIPELINE', 0x00021006],
  ['GET_AVAILABLE_RUNSPACES', 0x00021007],
  ['USER_EVENT', 0x00021008],
  ['APPLICATION_PRIVATE_DATA', 0x00021009],
  ['GET_COMMAND_METADATA', 0x0002100a],
  ['RUNSPACEPOOL_INIT_DATA', 0x0002100b],
  ['RESET_RUNSPACE_STATE', 0x0002100c],
  ['RUNSPACEPOOL_HOST_CALL', 0x00021100],
  ['RUNSPACEPOOL_HOST_RESPONSE', 0x00021101],
  ['PIPELINE_INPUT', 0x00041002],
  ['END_OF_PIPELINE_INPUT', 0x00041003],
  ['PIPELINE_OUTPUT', 0x00041004],
  ['ERROR_RECORD', 0x00041005],
  ['PIPELINE_STATE', 0x00041006],
  ['DEBUG_RECORD', 0x00041007],
  ['VERBOSE_RECORD', 0x00041008],
  ['WARNING_RECORD', 0x00041009],
  ['PROGRESS_RECORD', 0x00041010],
  ['INFORMATION_RECORD', 0x00041011],
  ['PIPELINE_HOST_CALL', 0x00041100],
  ['PIPELINE_HOST_RESPONSE', 0x00041101],
  ['CLOSE_SESSION', 0x00010003],
  ['STOP_POWERSHELL', 0x00041012],
];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('message types (MS-PSRP 2.2.1)', () => {
  it.each(SPEC)('%s = %d, and named back', (name, code) => {
    expect(MessageType[name as keyof typeof MessageType]).toBe(code);
    expect(messageTypeName(code)).toBe(name);
    expect(isKnownMessageType(code)).toBe(true);
  });
  it('has no other codes, and names unknown ones with their hex value', () => {
    expect(Object.keys(MessageType).sort()).toEqual(SPEC.map(([n]) => n).sort());
    expect(messageTypeName(0)).toBe('Unknown(0x00000000)');
    expect(messageTypeName(0x00041013)).toBe('Unknown(0x00041013)');
    expect(messageTypeName(0xffffffff)).toBe('Unknown(0xffffffff)');
    expect(isKnownMessageType(0x00041013)).toBe(false);
  });
});

describe('message header (MS-PSRP 2.2.1)', () => {
  const rpid = '7a3b2c1d-0e0f-4a4b-8c8d-9e9fa0a1a2a3';
  const pid = 'b1b2b3b4-c1c2-d1d2-e1e2-f1f2f3f4f5f6';

  it('lays out Destination and MessageType little-endian, then RPID and PID in .NET byte order', () => {
    const m = encodeMessage({
      destination: Destination.Client,
      messageType: MessageType.PIPELINE_HOST_RESPONSE,
      runspacePoolId: rpid,
      pipelineId: pid,
      data: Buffer.from('<Obj/>'),
    });
    expect(m).toHaveLength(46);
    expect(hex(m.subarray(0, 4))).toBe('01000000');
    expect(hex(m.subarray(4, 8))).toBe('01110400');
    expect(hex(m.subarray(8, 24))).toBe('1d2c3b7a0f0e4b4a8c8d9e9fa0a1a2a3');
    expect(hex(m.subarray(24, 40))).toBe('b4b3b2b1c2c1d2d1e1e2f1f2f3f4f5f6');
    expect(Buffer.from(m.subarray(40)).toString()).toBe('<Obj/>');
  });

  it('round-trips every type, both destinations and random ids', () => {
    for (const [, code] of SPEC) {
      for (const destination of [Destination.Client, Destination.Server]) {
        const m = {
          destination,
          messageType: code,
          runspacePoolId: newGuid(),
          pipelineId: newGuid(),
          data: Buffer.from('x'),
        };
        const d = decodeMessage(encodeMessage(m));
        expect({ ...d, data: Buffer.from(d.data) }).toEqual(m);
      }
    }
  });

  it('strips one UTF-8 BOM, and only a whole one', () => {
    const body = (data: Uint8Array) =>
      hex(
        decodeMessage(
          encodeMessage({
            destination: 1,
            messageType: MessageType.PIPELINE_OUTPUT,
            runspacePoolId: EMPTY_GUID,
            pipelineId: EMPTY_GUID,
            data,
          }),
        ).data,
      );
    expect(body(Buffer.from('efbbbf3c4f626a3e', 'hex'))).toBe('3c4f626a3e');
    expect(body(Buffer.from('efbbbfefbbbf3c', 'hex'))).toBe('efbbbf3c');
    expect(body(Buffer.from('efbbbf', 'hex'))).toBe('');
    expect(body(Buffer.from('efbb', 'hex'))).toBe('efbb');
    expect(body(Buffer.from('3c4f', 'hex'))).toBe('3c4f');
    expect(body(new Uint8Array(0))).toBe('');
  });

  it('reads a header at an offset inside a larger buffer', () => {
    const m = encodeMessage({
      destination: 2,
      messageType: 0x00010002,
      runspacePoolId: rpid,
      pipelineId: pid,
      data: Buffer.from('z'),
    });
    const big = new Uint8Array(m.length + 7);
    big.set(m, 7);
    const d = decodeMessage(big.subarray(7));
    expect([d.destination, d.messageType, d.runspacePoolId, d.pipelineId]).toEqual([
      2,
      0x00010002,
      rpid,
      pid,
    ]);
    expect(Buffer.from(d.data).toString()).toBe('z');
  });

  it('refuses fewer than 40 bytes with PsrpMessageTruncated', () => {
    for (const n of [0, 1, 21, 39]) {
      let err: unknown;
      try {
        decodeMessage(new Uint8Array(n));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PsrpProtocolError);
      expect((err as PsrpProtocolError).errorId).toBe('PsrpMessageTruncated');
      expect((err as PsrpProtocolError).remote).toBe(true);
    }
    expect(decodeMessage(new Uint8Array(40)).data).toHaveLength(0);
  });
});

describe('GUIDs', () => {
  it('accept capitals, write lowercase, and read at an offset', () => {
    const g = '00112233-4455-6677-8899-AABBCCDDEEFF';
    const b = guidToBytes(g);
    const padded = new Uint8Array(20);
    padded.set(b, 3);
    expect(guidFromBytes(padded, 3)).toBe(g.toLowerCase());
    expect(guidFromBytes(guidToBytes(EMPTY_GUID))).toBe(EMPTY_GUID);
    expect(() => guidFromBytes(padded, 5)).toThrowError(/no 16 GUID bytes/);
    expect(() => guidFromBytes(new Uint8Array(15))).toThrowError(PsrpProtocolError);
  });
  it('refuse a malformed GUID as the caller error it is', () => {
    for (const bad of [
      '',
      'nope',
      '00112233445566778899aabbccddeeff',
      '{00112233-4455-6677-8899-aabbccddeeff}',
    ]) {
      let err: unknown;
      try {
        guidToBytes(bad);
      } catch (e) {
        err = e;
      }
      expect((err as PsrpProtocolError).errorId).toBe('PsrpInvalidGuid');
      expect((err as PsrpProtocolError).remote).toBe(false);
    }
  });
  it('newGuid is a random lowercase version-4 GUID', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const g = newGuid();
      expect(g).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(g);
    }
    expect(seen.size).toBe(100);
  });
});
