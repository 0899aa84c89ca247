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
  const b = bytes;
  const o = offset;
  const hex = (i: number) => (b[o + i] as number).toString(16).padStart(2, '0');
  return (
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
    hex(15)
  );
}
