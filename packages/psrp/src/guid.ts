import { randomUUID } from 'node:crypto';
import { PsrpProtocolError } from './errors.ts';

export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

const HEX = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function newGuid(): string {
  return randomUUID();
}

/**
 * MS-PSRP 2.2.1: RPID and PID are written as .NET `Guid.ToByteArray()`: the first three groups little-endian,
 * the last two as written.
 */
export function guidToBytes(guid: string): Uint8Array {
  if (!HEX.test(guid))
    throw new PsrpProtocolError('PsrpInvalidGuid', `not a GUID: ${guid}`, { remote: false });
  const h = guid.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  const out = Buffer.alloc(16);
  out[0] = b[3] as number;
  out[1] = b[2] as number;
  out[2] = b[1] as number;
  out[3] = b[0] as number;
  out[4] = b[5] as number;
  out[5] = b[4] as number;
  out[6] = b[7] as number;
  out[7] = b[6] as number;
  b.copy(out, 8, 8, 16);
  return out;
}

export function guidFromBytes(bytes: Uint8Array, offset = 0): string {
  if (!Number.isInteger(offset) || offset < 0 || offset + 16 > bytes.length) {
    throw new PsrpProtocolError(
      'PsrpInvalidGuid',
      `no 16 GUID bytes at offset ${offset} of ${bytes.length}`,
      {
        remote: false,
      },
    );
  }
  // Two GUIDs in every message header, nearly always the same few: reuse the last strings made.
  for (const c of recent) if (c.bytes !== undefined && sameBytes(c.bytes, bytes, offset)) return c.text;
  const b = bytes;
  const o = offset;
  const hex = (i: number) => BYTE_HEX[b[o + i] as number] as string;
  const text =
    hex(3) +
    hex(2) +
    hex(1) +
    hex(0) +
    '-' +
    hex(5) +
    hex(4) +
    '-' +
    hex(7) +
    hex(6) +
    '-' +
    hex(8) +
    hex(9) +
    '-' +
    hex(10) +
    hex(11) +
    hex(12) +
    hex(13) +
    hex(14) +
    hex(15);
  const slot = recent[nextSlot] as { bytes: Uint8Array | undefined; text: string };
  slot.bytes = Uint8Array.from(bytes.subarray(offset, offset + 16));
  slot.text = text;
  nextSlot = (nextSlot + 1) % recent.length;
  return text;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const recent: { bytes: Uint8Array | undefined; text: string }[] = Array.from({ length: 4 }, () => ({
  bytes: undefined,
  text: '',
}));
let nextSlot = 0;

function sameBytes(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}
