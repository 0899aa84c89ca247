import { describe, expect, it } from 'vitest';
import { decryptSecureString, encryptSecureString, SessionKeyExchange } from '../src/crypto/session-key.ts';
import { PsrpProtocolError } from '../src/errors.ts';
import { Defragmenter, fragmentMessage } from '../src/fragment/fragment.ts';
import { decodeMessage, encodeMessage } from '../src/message/header.ts';
import { decodePacket, encodePacket, PacketLineSplitter } from '../src/outofproc/packet.ts';

/** A small seeded PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n;
  };
}
const int = (r: (n: number) => number, n: number) => Math.floor(r(n));

/** Runs fn; only a PsrpProtocolError may come out. Returns whether it threw. */
function onlyProtocolErrors(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (e instanceof PsrpProtocolError) return true;
    throw e;
  }
}

function mutate(r: (n: number) => number, src: Uint8Array): Buffer {
  const b = Buffer.from(src);
  const kind = int(r, 4);
  if (kind === 0) for (let i = 0; i < 1 + int(r, 4); i++) b[int(r, b.length)] = int(r, 256);
  if (kind === 1) return b.subarray(0, int(r, b.length));
  if (kind === 2)
    return Buffer.concat([b.subarray(0, int(r, b.length)), Buffer.from([int(r, 256), int(r, 256)]), b]);
  if (kind === 3) b.writeUInt32BE(int(r, 2 ** 32), Math.min(17, Math.max(0, b.length - 4)));
  return b;
}

describe('bad bytes give PsrpProtocolErrors, never a crash or unbounded memory', () => {
  it('Defragmenter and decodeMessage over 3000 mutated streams in random chunks', () => {
    const r = rng(20261125);
    let failures = 0;
    let completed = 0;
    for (let round = 0; round < 3000; round++) {
      const msgs = [1, 2, 3].map((i) =>
        encodeMessage({
          destination: 1 + int(r, 2),
          messageType: 0x00041004,
          runspacePoolId: '00112233-4455-6677-8899-aabbccddeeff',
          pipelineId: '00112233-4455-6677-8899-aabbccddeef0',
          data: Buffer.alloc(int(r, 300), i),
        }),
      );
      const stream = Buffer.concat(
        msgs.flatMap((m, i) => fragmentMessage(BigInt(round * 10 + i + 1), m, 21 + 1 + int(r, 100))),
      );
      const bad = mutate(r, stream);
      const d = new Defragmenter({ maxMessageSize: 4096, maxPendingObjects: 8, maxBufferedBytes: 8192 });
      const threw = onlyProtocolErrors(() => {
        for (let off = 0; off < bad.length; ) {
          const n = 1 + int(r, 200);
          for (const m of d.push(bad.subarray(off, off + n))) {
            completed++;
            onlyProtocolErrors(() => decodeMessage(m));
          }
          off += n;
          expect(d.bufferedBytes).toBeLessThanOrEqual(8192);
        }
        d.end();
      });
      if (threw) failures++;
    }
    // The mutations do break most streams, and some still complete messages: both paths ran.
    expect(failures).toBeGreaterThan(1000);
    expect(completed).toBeGreaterThan(1000);
  });

  it('decodePacket and PacketLineSplitter over 3000 mutated lines', () => {
    const r = rng(7);
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const good = encodePacket(
        int(r, 2) === 0
          ? {
              kind: 'Data',
              stream: 'Default',
              psGuid: '4b1d9e3c-1a2b-4c3d-8e9f-0123456789ab',
              data: Buffer.alloc(int(r, 40), 3),
            }
          : { kind: 'CloseAck', psGuid: '00000000-0000-0000-0000-000000000000' },
      );
      const bytes = mutate(r, Buffer.from(`${good}\n`));
      const s = new PacketLineSplitter({ maxLineLength: 200 });
      onlyProtocolErrors(() => {
        for (const line of s.push(bytes)) if (onlyProtocolErrors(() => decodePacket(line))) refused++;
      });
      expect(s.pendingBytes).toBeLessThanOrEqual(201);
    }
    expect(refused).toBeGreaterThan(500);
  });

  it('session keys and SecureStrings: random blobs and ciphertexts', () => {
    const r = rng(99);
    const kx = new SessionKeyExchange();
    const key = Buffer.alloc(32, 9);
    for (let round = 0; round < 300; round++) {
      const blob = Buffer.from(Array.from({ length: int(r, 300) }, () => int(r, 256)));
      if (int(r, 2) === 0 && blob.length > 0) blob[0] = 1;
      expect(onlyProtocolErrors(() => kx.acceptEncryptedSessionKey(blob.toString('base64')))).toBe(true);
      const c = Buffer.from(encryptSecureString('secret', key), 'base64');
      onlyProtocolErrors(() => decryptSecureString(mutate(r, c).toString('base64'), key));
    }
    expect(kx.hasSessionKey).toBe(false);
  });
});
