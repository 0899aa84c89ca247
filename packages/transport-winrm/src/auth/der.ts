import { authError } from './auth-error.ts';
import { concatBytes } from './bytes.ts';

/**
 * The little DER that SPNEGO needs (X.690): single-byte tags, definite lengths, nothing else. Decoding is
 * bounded: every length is checked against its enclosing value, indefinite and over-long lengths are refused.
 */
export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  /** The offset just after this element in the buffer it was read from. */
  readonly end: number;
}

function bad(what: string, why: string): never {
  throw authError('WinRMAuthTokenInvalid', `invalid DER from the server (${what}): ${why}`);
}

export function readTlv(buf: Uint8Array, offset: number, what: string): Tlv {
  if (offset + 2 > buf.length) bad(what, 'truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) bad(what, 'multi-byte tags are not used by SPNEGO');
  let len = buf[offset + 1]!;
  let o = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) bad(what, 'indefinite length (BER, not DER)');
    if (n > 3) bad(what, `a ${n}-byte length`);
    if (o + n > buf.length) bad(what, 'truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[o + i]!;
    o += n;
  }
  if (len > buf.length - o) bad(what, `length ${len} exceeds the ${buf.length - o} bytes that remain`);
  return { tag, value: buf.subarray(o, o + len), end: o + len };
}

/** The elements that make up a constructed value exactly (no trailing bytes). */
export function readChildren(value: Uint8Array, what: string): Tlv[] {
  const out: Tlv[] = [];
  for (let o = 0; o < value.length; ) {
    const t = readTlv(value, o, what);
    out.push(t);
    o = t.end;
  }
  return out;
}

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: readonly Uint8Array[]): Uint8Array {
  const value = concatBytes(...content);
  return concatBytes(new Uint8Array([tag]), encodeLength(value.length), value);
}
