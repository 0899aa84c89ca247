import { describe, expect, it } from 'vitest';
import { ascii, concatBytes, u32le } from '../bytes.ts';
import { CREDSSP_SESSION_ENCRYPTED, decryptCredsspBody } from './credssp-encryption.ts';
import type { TlsPipe } from './tls-pipe.ts';

/**
 * The framing checks of a CredSSP-encrypted answer (MS-WSMV 2.2.9.1.3), before anything reaches TLS: a pipe that
 * records what it is asked to decrypt stands in for the channel (the round trip through real TLS is proven
 * against the Python acceptor in test/peer/credssp.peer.test.ts).
 */
function recordingPipe(): { pipe: TlsPipe; fed: { records: Uint8Array; length: number }[] } {
  const fed: { records: Uint8Array; length: number }[] = [];
  const pipe = {
    unwrap: async (records: Uint8Array, length: number) => {
      fed.push({ records, length });
      return new Uint8Array(length).fill(0x41);
    },
  } as unknown as TlsPipe;
  return { pipe, fed };
}

const record = (n: number, type = 0x17) =>
  concatBytes(new Uint8Array([type, 3, 3, n >> 8, n & 0xff]), new Uint8Array(n));
const part = (length: number, records: Uint8Array, protocol = CREDSSP_SESSION_ENCRYPTED) =>
  concatBytes(
    ascii(
      `--Encrypted Boundary\r\n\tContent-Type: ${protocol}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${length}\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n`,
    ),
    u32le(16),
    records,
  );
const END = ascii('--Encrypted Boundary--\r\n');
const ct = (multi = false) =>
  `${multi ? 'multipart/x-multi-encrypted' : 'multipart/encrypted'};protocol="${CREDSSP_SESSION_ENCRYPTED}";boundary="Encrypted Boundary"`;

describe('decryptCredsspBody', () => {
  it('walks the records of every part and asks TLS for the sum of the Lengths, once', async () => {
    const { pipe, fed } = recordingPipe();
    const body = concatBytes(part(100, record(129)), part(50, concatBytes(record(40), record(39))), END);
    const out = await decryptCredsspBody(pipe, ct(true), body);
    expect(out.data.length).toBe(150);
    expect(out.originalContentType).toBe('application/soap+xml;charset=UTF-8');
    expect(fed).toHaveLength(1);
    expect(fed[0]?.length).toBe(150);
    expect(fed[0]?.records.length).toBe(134 + 45 + 44);
  });

  it.each([
    ['another protocol', ct().replace('CredSSP', 'SPNEGO'), part(1, record(30)), /protocol/],
    ['a record that is not application data', ct(), part(1, record(30, 0x15)), /record type 21/],
    [
      'a record overrunning the body',
      ct(),
      part(1, concatBytes(new Uint8Array([0x17, 3, 3, 0, 200]), new Uint8Array(30))),
      /overruns|truncated/,
    ],
    ['no record at all', ct(), part(1, new Uint8Array(0)), /without a TLS record/],
    ['a Length beyond its records', ct(), part(9_999_999_999, record(30)), /exceeds its 35 bytes/],
    ['a Length one byte beyond its records', ct(), part(37, record(31)), /exceeds its 36 bytes/],
    [
      'two part pairs as multipart/encrypted',
      ct(),
      concatBytes(part(1, record(30)), part(1, record(30))),
      /one part pair/,
    ],
    [
      'a metadata part of another protocol',
      ct(),
      part(1, record(30), 'application/HTTP-SPNEGO-session-encrypted'),
      /metadata/,
    ],
  ])('refuses %s before decrypting', async (_name, type, first, why) => {
    const { pipe, fed } = recordingPipe();
    await expect(decryptCredsspBody(pipe, type, concatBytes(first, END))).rejects.toThrow(why);
    expect(fed).toHaveLength(0);
  });

  it('joins 250 000 parts (a 50 MB body) without overflowing the stack, and in bounded time', async () => {
    const { pipe, fed } = recordingPipe();
    const n = 250_000;
    const one = part(1, record(24));
    const body = Buffer.concat([...Array.from({ length: n }, () => one), END]);
    const started = performance.now();
    const out = await decryptCredsspBody(pipe, ct(true), new Uint8Array(body));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(out.data.length).toBe(n);
    expect(fed[0]?.records.length).toBe(n * 29);
  });

  it('walks thousands of parts in one pass, and refuses the same body once one Length lies', async () => {
    const { pipe, fed } = recordingPipe();
    const parts = Array.from({ length: 5000 }, () => part(10, record(26)));
    const started = Date.now();
    const out = await decryptCredsspBody(pipe, ct(true), concatBytes(...parts, END));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(out.data.length).toBe(50_000);
    expect(fed).toHaveLength(1);
    parts[4321] = part(1_000_000, record(26));
    await expect(decryptCredsspBody(pipe, ct(true), concatBytes(...parts, END))).rejects.toThrow(/exceeds/);
    expect(fed).toHaveLength(1);
  });
});
