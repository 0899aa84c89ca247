import { describe, expect, it } from 'vitest';
import { PsrpProtocolError } from '../errors.ts';
import { Defragmenter, encodeFragment, FRAGMENT_HEADER_SIZE, fragmentMessage } from './fragment.ts';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const cat = (parts: Uint8Array[]) => Buffer.concat(parts);

function protocolError(fn: () => unknown): PsrpProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PsrpProtocolError) return e;
    throw e;
  }
  throw new Error('expected a PsrpProtocolError');
}

describe('fragments (MS-PSRP 2.2.4)', () => {
  it('writes the header big-endian with S|E flags for a one-fragment message (spec 4.2)', () => {
    const f = encodeFragment({
      objectId: 1n,
      fragmentId: 0n,
      start: true,
      end: true,
      blob: Uint8Array.of(0xaa),
    });
    expect(Buffer.from(f).toString('hex')).toBe(`${'00'.repeat(7)}01${'00'.repeat(8)}03${'00000001'}aa`);
  });
  it('splits at the fragment size including the 21-byte header, and reassembles', () => {
    const msg = bytes(100_000);
    const frags = fragmentMessage(7n, msg, 32_768);
    expect(frags).toHaveLength(Math.ceil(100_000 / (32_768 - FRAGMENT_HEADER_SIZE)));
    for (const f of frags) expect(f.length).toBeLessThanOrEqual(32_768);
    expect(frags[0]?.[16]).toBe(0x01);
    expect(frags.at(-1)?.[16]).toBe(0x02);
    const d = new Defragmenter();
    const out = frags.flatMap((f) => d.push(f));
    expect(out).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(out[0] as Uint8Array), Buffer.from(msg))).toBe(0);
  });
  it('handles interleaved objects and several fragments in one payload', () => {
    const a = fragmentMessage(1n, bytes(50, 1), 30);
    const b = fragmentMessage(2n, bytes(60, 2), 30);
    const mixed = [a[0], b[0], a[1], b[1], b[2], a[2]].filter(Boolean) as Uint8Array[];
    const d = new Defragmenter();
    const rest = a.slice(3).concat(b.slice(3));
    const out = d.push(cat([...mixed, ...rest]));
    expect(out.map((m) => m.length).sort()).toEqual([50, 60]);
  });
  it('accepts a payload split at every byte boundary', () => {
    const all = cat(fragmentMessage(3n, bytes(77), 40));
    for (let cut = 1; cut < all.length; cut++) {
      const d = new Defragmenter();
      const out = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
      expect(out).toHaveLength(1);
      expect(out[0]?.length).toBe(77);
    }
  });
  it('waits for the rest of a truncated fragment instead of failing', () => {
    const f = fragmentMessage(4n, bytes(10), 100)[0] as Uint8Array;
    const d = new Defragmenter();
    expect(d.push(f.subarray(0, 25))).toEqual([]);
    expect(d.bufferedBytes).toBe(25);
    expect(d.push(f.subarray(25))).toHaveLength(1);
  });
  it('rejects a fragment id gap, a missing start, a double start', () => {
    const [f0, , f2] = fragmentMessage(5n, bytes(100), 50) as Uint8Array[];
    const d = new Defragmenter();
    d.push(f0 as Uint8Array);
    expect(protocolError(() => d.push(f2 as Uint8Array)).errorId).toBe('PsrpFragmentOutOfOrder');
    expect(protocolError(() => new Defragmenter().push(f2 as Uint8Array)).errorId).toBe(
      'PsrpFragmentOutOfOrder',
    );
    const d2 = new Defragmenter();
    d2.push(f0 as Uint8Array);
    expect(protocolError(() => d2.push(f0 as Uint8Array)).errorId).toBe('PsrpFragmentOutOfOrder');
  });
  it('bounds memory: oversized messages and too many pending objects fail', () => {
    const d = new Defragmenter({ maxMessageSize: 1000 });
    const frags = fragmentMessage(6n, bytes(5000), 400);
    expect(
      protocolError(() => {
        for (const f of frags) d.push(f);
      }).errorId,
    ).toBe('PsrpMessageTooLarge');
    const huge = encodeFragment({
      objectId: 1n,
      fragmentId: 0n,
      start: true,
      end: true,
      blob: new Uint8Array(0),
    });
    Buffer.from(huge.buffer, huge.byteOffset, huge.length).writeUInt32BE(0x7fffffff, 17);
    expect(protocolError(() => new Defragmenter({ maxMessageSize: 1 << 20 }).push(huge)).errorId).toBe(
      'PsrpMessageTooLarge',
    );
    const few = new Defragmenter({ maxPendingObjects: 2 });
    expect(
      protocolError(() => {
        for (let i = 1n; i < 5n; i++) few.push(fragmentMessage(i, bytes(50), 30)[0] as Uint8Array);
      }).errorId,
    ).toBe('PsrpTooManyPendingObjects');
  });
});
