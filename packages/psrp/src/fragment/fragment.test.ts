import { describe, expect, it } from 'vitest';
import { PsrpProtocolError } from '../errors.ts';
import {
  DEFAULT_MAX_RECEIVED_OBJECT_SIZE,
  Defragmenter,
  encodeFragment,
  FRAGMENT_HEADER_SIZE,
  fragmentMessage,
  splitFragments,
} from './fragment.ts';

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
  it('messages(): what a payload completes before a bad fragment reaches the reader before the error', () => {
    const good = fragmentMessage(7n, bytes(40), 1000)[0] as Uint8Array;
    const [, orphan] = fragmentMessage(8n, bytes(100), 50) as Uint8Array[];
    const d = new Defragmenter();
    const got: Uint8Array[] = [];
    const err = protocolError(() => {
      for (const m of d.messages(cat([good, orphan as Uint8Array]))) got.push(m);
    });
    expect(err.errorId).toBe('PsrpFragmentOutOfOrder');
    expect(got.map((m) => Buffer.from(m).toString('hex'))).toEqual([Buffer.from(bytes(40)).toString('hex')]);
    // The stream is broken from then on.
    expect(protocolError(() => d.push(good)).errorId).toBe('PsrpFragmentOutOfOrder');
  });
  it('messages(): a reader that stops half-way breaks the stream instead of losing the rest silently', () => {
    const two = cat([
      fragmentMessage(1n, bytes(5), 100)[0] as Uint8Array,
      fragmentMessage(2n, bytes(6), 100)[0] as Uint8Array,
    ]);
    const d = new Defragmenter();
    for (const _m of d.messages(two)) break;
    expect(protocolError(() => d.push(two)).errorId).toBe('PsrpFragmentAbandoned');
  });
  it('bounds memory: oversized messages and too many pending objects fail', () => {
    const d = new Defragmenter({ maxReceivedObjectSize: 1000 });
    const frags = fragmentMessage(6n, bytes(5000), 400);
    expect(
      protocolError(() => {
        for (const f of frags) d.push(f);
      }).errorId,
    ).toBe('ReceivedObjectSizeExceededMaximumClient');
    const huge = encodeFragment({
      objectId: 1n,
      fragmentId: 0n,
      start: true,
      end: true,
      blob: new Uint8Array(0),
    });
    Buffer.from(huge.buffer, huge.byteOffset, huge.length).writeUInt32BE(0x7fffffff, 17);
    expect(protocolError(() => new Defragmenter({ maxMessageSize: 1 << 20 }).push(huge)).errorId).toBe(
      'ObjectIsTooBig',
    );
    const few = new Defragmenter({ maxPendingObjects: 2 });
    expect(
      protocolError(() => {
        for (let i = 1n; i < 5n; i++) few.push(fragmentMessage(i, bytes(50), 30)[0] as Uint8Array);
      }).errorId,
    ).toBe('PsrpTooManyPendingObjects');
  });
});

describe('fragment edge cases', () => {
  const reassemble = (chunks: Uint8Array[], d = new Defragmenter()) => chunks.flatMap((c) => d.push(c));

  it('fills 32 KiB fragments exactly: 32747 bytes is one S|E fragment, 32748 two, empty one', () => {
    const one = fragmentMessage(9n, bytes(32_747), 32_768);
    expect(one).toHaveLength(1);
    expect(one[0]?.length).toBe(32_768);
    expect(one[0]?.[16]).toBe(0x03);
    const two = fragmentMessage(9n, bytes(32_748), 32_768);
    expect(two.map((f) => [f.length, f[16]])).toEqual([
      [32_768, 0x01],
      [22, 0x02],
    ]);
    expect(Buffer.from(two[1] as Uint8Array).readBigUInt64BE(8)).toBe(1n);
    const empty = fragmentMessage(9n, new Uint8Array(0), 32_768);
    expect(empty.map((f) => [f.length, f[16]])).toEqual([[21, 0x03]]);
    expect(reassemble(empty)[0]?.length).toBe(0);
    expect(protocolError(() => fragmentMessage(1n, bytes(5), 21)).remote).toBe(false);
  });

  it('reassembles at small fragment sizes (22..40 bytes) and many objects interleaved round-robin', () => {
    for (let size = 22; size <= 40; size++) {
      const msgs = [1, 2, 3, 4].map((i) => bytes(17 * i + size, i));
      const frags = msgs.map((m, i) => fragmentMessage(BigInt(i + 1), m, size));
      const order: Uint8Array[] = [];
      for (let k = 0; order.length < frags.flat().length; k++)
        for (const f of frags) if (f[k]) order.push(f[k] as Uint8Array);
      const out = reassemble(order);
      expect(out.map((m) => m.length).sort((a, b) => a - b)).toEqual(msgs.map((m) => m.length));
      for (const m of out)
        expect(msgs.some((x) => Buffer.compare(Buffer.from(x), Buffer.from(m)) === 0)).toBe(true);
    }
  });

  it('takes two interleaved objects at every split point, and byte by byte', () => {
    const a = fragmentMessage(1n, bytes(30, 1), 30);
    const b = fragmentMessage(2n, bytes(20, 2), 30);
    expect([a.length, b.length]).toEqual([4, 3]);
    const all = cat([a[0], b[0], a[1], b[1], a[2], b[2], a[3]] as Uint8Array[]);
    for (let cut = 0; cut <= all.length; cut++) {
      const out = reassemble([all.subarray(0, cut), all.subarray(cut)]);
      expect(out.map((m) => m.length)).toEqual([20, 30]);
    }
    const d = new Defragmenter();
    const out = reassemble(
      Array.from(all, (byte) => Uint8Array.of(byte)),
      d,
    );
    expect(out.map((m) => m.length)).toEqual([20, 30]);
    expect(d.bufferedBytes).toBe(0);
    expect(d.pendingObjects).toBe(0);
  });

  it('copies what it keeps: the caller may reuse its buffer', () => {
    const f = cat(fragmentMessage(3n, bytes(60), 40));
    const scratch = Buffer.alloc(f.length);
    const d = new Defragmenter();
    f.copy(scratch, 0, 0, 50);
    expect(d.push(scratch.subarray(0, 50))).toEqual([]);
    scratch.fill(0xee);
    f.copy(scratch, 0, 50);
    const [m] = d.push(scratch.subarray(0, f.length - 50));
    expect(Buffer.compare(Buffer.from(m as Uint8Array), Buffer.from(bytes(60)))).toBe(0);
  });

  it('reads a 16 MiB fragment arriving in 1 KiB chunks without quadratic copying', () => {
    const msg = bytes(16 * 1024 * 1024);
    const stream = cat(fragmentMessage(8n, msg, msg.length + FRAGMENT_HEADER_SIZE));
    const d = new Defragmenter({ maxReceivedObjectSize: null });
    const t0 = performance.now();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 1024) out.push(...d.push(stream.subarray(i, i + 1024)));
    const ms = performance.now() - t0;
    expect(out).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(out[0] as Uint8Array), Buffer.from(msg))).toBe(0);
    // A generous bound, not a benchmark: re-concatenating the held bytes on each push would copy
    // 16384 x 8 MiB on average (128 GiB) here; holding the chunks apart copies each byte about twice.
    expect(ms).toBeLessThan(20_000);
  });

  it('tells a cut stream from a clean end: end() reports truncation', () => {
    const f = fragmentMessage(4n, bytes(100), 60);
    const header = new Defragmenter();
    header.push((f[0] as Uint8Array).subarray(0, 10));
    expect(protocolError(() => header.end()).errorId).toBe('PsrpFragmentTruncated');
    const blob = new Defragmenter();
    blob.push((f[0] as Uint8Array).subarray(0, 30));
    expect(protocolError(() => blob.end()).errorId).toBe('PsrpFragmentTruncated');
    const object = new Defragmenter();
    object.push(f[0] as Uint8Array);
    expect(object.pendingObjects).toBe(1);
    expect(protocolError(() => object.end()).errorId).toBe('PsrpFragmentTruncated');
    const clean = new Defragmenter();
    reassemble(f, clean);
    expect(() => clean.end()).not.toThrow();
  });

  it('fails on real inconsistencies at once, and stays failed', () => {
    // A negative (sign bit set) or huge BlobLength cannot be "more bytes to come".
    const neg = Buffer.from(
      encodeFragment({ objectId: 1n, fragmentId: 0n, start: true, end: true, blob: bytes(4) }),
    );
    neg.writeUInt32BE(0xffffffff, 17);
    const d = new Defragmenter();
    const e = protocolError(() => d.push(neg.subarray(0, 21)));
    expect(e.errorId).toBe('ObjectIsTooBig');
    expect(e.remote).toBe(true);
    expect(d.bufferedBytes).toBe(0);
    // Later input, even valid, meets the same error: the stream's framing is lost.
    expect(protocolError(() => d.push(fragmentMessage(2n, bytes(3), 100)[0] as Uint8Array))).toBe(e);
    expect(protocolError(() => d.end())).toBe(e);
    // A middle fragment whose object never started.
    const [, mid] = fragmentMessage(6n, bytes(50), 40) as Uint8Array[];
    expect(protocolError(() => new Defragmenter().push(mid as Uint8Array)).errorId).toBe(
      'PsrpFragmentOutOfOrder',
    );
    // A repeated fragment id.
    const [s0, s1] = fragmentMessage(7n, bytes(90), 40) as Uint8Array[];
    expect(protocolError(() => new Defragmenter().push(cat([s0, s1, s1] as Uint8Array[]))).errorId).toBe(
      'PsrpFragmentOutOfOrder',
    );
  });

  it('bounds the bytes held over all unfinished objects and an incomplete fragment', () => {
    const d = new Defragmenter({ maxReceivedObjectSize: 1000, maxBufferedBytes: 1200 });
    const firsts = [1n, 2n, 3n, 4n].map((id) => fragmentMessage(id, bytes(900), 521)[0] as Uint8Array);
    d.push(firsts[0] as Uint8Array);
    d.push(firsts[1] as Uint8Array);
    expect(d.pendingObjects).toBe(2);
    expect(protocolError(() => d.push(firsts[2] as Uint8Array)).errorId).toBe('PsrpMessageTooLarge');
    // An incomplete fragment counts too: 1000 bytes announced, arriving slowly.
    const slow = new Defragmenter({ maxReceivedObjectSize: 1000, maxBufferedBytes: 600 });
    const big = fragmentMessage(1n, bytes(979), 2000)[0] as Uint8Array;
    expect(slow.push(big.subarray(0, 500))).toEqual([]);
    expect(protocolError(() => slow.push(big.subarray(500, 700))).errorId).toBe('PsrpMessageTooLarge');
  });
});

describe('MaximumReceivedObjectSize (PriorityCollection.cs ReceiveDataCollection)', () => {
  const header = (objectId: bigint, fragmentId: bigint, flags: number, len: number) => {
    const h = Buffer.alloc(FRAGMENT_HEADER_SIZE);
    h.writeBigUInt64BE(objectId, 0);
    h.writeBigUInt64BE(fragmentId, 8);
    h[16] = flags;
    h.writeUInt32BE(len, 17);
    return h;
  };

  it('defaults to 10 MiB, counts fragment headers, and accepts an object of exactly the limit', () => {
    expect(DEFAULT_MAX_RECEIVED_OBJECT_SIZE).toBe(10 * 1024 * 1024);
    // Two fragments: 2 x 21 header bytes + blobs = exactly 10 MiB.
    const blob = DEFAULT_MAX_RECEIVED_OBJECT_SIZE - 2 * FRAGMENT_HEADER_SIZE;
    const frags = fragmentMessage(1n, new Uint8Array(blob), FRAGMENT_HEADER_SIZE + blob / 2);
    expect(frags).toHaveLength(2);
    const d = new Defragmenter();
    const out = frags.flatMap((f) => d.push(f));
    expect(out).toHaveLength(1);
    expect(d.lastMessageWireSize).toBe(DEFAULT_MAX_RECEIVED_OBJECT_SIZE);
    const over = fragmentMessage(2n, new Uint8Array(blob + 1), FRAGMENT_HEADER_SIZE + (blob + 2) / 2);
    const fresh = new Defragmenter();
    const e = protocolError(() => over.flatMap((f) => fresh.push(f)));
    expect(e.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
  });

  it('refuses a fragment declaring 250 MB as soon as its header is in, holding nothing', () => {
    const d = new Defragmenter();
    const e = protocolError(() => d.push(header(1n, 0n, 3, 250_000_000)));
    expect(e.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    expect(e.message).toBe(
      'The current deserialized object size of the data received from the remote server exceeded the allowed maximum object size. The current deserialized object size is 250000021. The allowed maximum object size is 10485760.',
    );
    expect(d.bufferedBytes).toBe(0);
    expect(d.pendingObjects).toBe(0);
  });

  it("counts what the object received so far plus the next header's declared length", () => {
    const d = new Defragmenter({ maxReceivedObjectSize: 200 });
    d.push(Buffer.concat([header(5n, 0n, 1, 100), bytes(100)]));
    // 121 received + 21 + 59 = 201: refused before the 59 bytes come.
    const e = protocolError(() => d.push(header(5n, 1n, 2, 59)));
    expect(e.message).toMatch(/object size is 201\. The allowed maximum object size is 200\./);
    const ok = new Defragmenter({ maxReceivedObjectSize: 200 });
    ok.push(Buffer.concat([header(5n, 0n, 1, 100), bytes(100)]));
    expect(ok.push(Buffer.concat([header(5n, 1n, 2, 58), bytes(58)]))).toHaveLength(1);
    expect(ok.lastMessageWireSize).toBe(200);
  });

  it('checks order at the header too: a bad fragment is refused before its blob is held', () => {
    const d = new Defragmenter();
    expect(protocolError(() => d.push(header(9n, 3n, 2, 5_000_000))).errorId).toBe('PsrpFragmentOutOfOrder');
    expect(d.bufferedBytes).toBe(0);
  });

  it('refuses ObjectId 0 and negative ObjectIds (ObjectIdCannotBeLessThanZero)', () => {
    for (const id of [0n, 2n ** 63n, 2n ** 64n - 1n]) {
      const e = protocolError(() => new Defragmenter().push(Buffer.concat([header(id, 0n, 3, 1), bytes(1)])));
      expect(e.errorId).toBe('ObjectIdCannotBeLessThanZero');
    }
  });

  it('null is no limit; maxMessageSize is the deprecated name of the same limit', () => {
    const big = fragmentMessage(1n, new Uint8Array(11 << 20), (11 << 20) + 100);
    expect(new Defragmenter({ maxReceivedObjectSize: null }).push(big[0] as Uint8Array)).toHaveLength(1);
    const e = protocolError(() => new Defragmenter({ maxMessageSize: 100 }).push(header(1n, 0n, 3, 80)));
    expect(e.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    // The new name wins over the old.
    expect(
      new Defragmenter({ maxMessageSize: 100, maxReceivedObjectSize: 1000 }).push(
        Buffer.concat([header(1n, 0n, 3, 80), bytes(80)]),
      ),
    ).toHaveLength(1);
  });

  it('object ids counting up without end hold nothing once each object is done', () => {
    const d = new Defragmenter({ maxPendingObjects: 4 });
    for (let id = 1n; id <= 20_000n; id++) {
      const [a, b] = fragmentMessage(id, bytes(60), 51) as Uint8Array[];
      d.push(a as Uint8Array);
      expect(d.push(b as Uint8Array)).toHaveLength(1);
    }
    expect(d.pendingObjects).toBe(0);
    expect(d.bufferedBytes).toBe(0);
  });
});

describe('a separate object limit for pipeline messages (PowerShell OutOfProc: session 10 MiB, commands none)', () => {
  const message = (pid: number, size: number) => {
    const m = Buffer.alloc(40 + size, 0x20);
    m.fill(0, 0, 40);
    if (pid) m[24] = pid;
    return m;
  };

  it('judges a start fragment by its message header: a pipeline message may be larger than a pool message', () => {
    const opts = { maxReceivedObjectSize: 1000, maxReceivedPipelineObjectSize: 5000 };
    const pipe = fragmentMessage(1n, message(1, 3000), 700);
    const d = new Defragmenter(opts);
    expect(pipe.flatMap((f) => d.push(f))).toHaveLength(1);
    const pool = fragmentMessage(2n, message(0, 3000), 700);
    const e = protocolError(() => pool.flatMap((f) => d.push(f)));
    expect(e.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    expect(e.message).toMatch(/allowed maximum object size is 1000\./);
    const huge = fragmentMessage(3n, message(1, 6000), 10_000);
    expect(protocolError(() => new Defragmenter(opts).push(huge[0] as Uint8Array)).message).toMatch(
      /allowed maximum object size is 5000\./,
    );
  });

  it('waits for no more than the 40 header bytes of a blob before judging; a shorter blob gets the smaller limit', () => {
    const opts = { maxReceivedObjectSize: 1000, maxReceivedPipelineObjectSize: null };
    const d = new Defragmenter(opts);
    const h = Buffer.alloc(FRAGMENT_HEADER_SIZE);
    h.writeBigUInt64BE(1n, 0);
    h[16] = 3;
    h.writeUInt32BE(250_000_000, 17);
    expect(d.push(h)).toEqual([]);
    expect(d.bufferedBytes).toBe(FRAGMENT_HEADER_SIZE);
    // A pool message (zero PID) declaring 250 MB: refused once its 40 header bytes are in.
    expect(protocolError(() => d.push(Buffer.alloc(40))).errorId).toBe(
      'ReceivedObjectSizeExceededMaximumClient',
    );
    const short = new Defragmenter(opts);
    const s = Buffer.alloc(FRAGMENT_HEADER_SIZE);
    s.writeBigUInt64BE(1n, 0);
    s[16] = 1;
    s.writeUInt32BE(30, 17);
    short.push(Buffer.concat([s, Buffer.alloc(30, 1)]));
    const next = Buffer.alloc(FRAGMENT_HEADER_SIZE);
    next.writeBigUInt64BE(1n, 0);
    next.writeBigUInt64BE(1n, 8);
    next[16] = 2;
    next.writeUInt32BE(2000, 17);
    expect(protocolError(() => short.push(next)).errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    // With no pipeline limit, a pipeline object of any size passes.
    const big = fragmentMessage(9n, message(7, 11 << 20), 1 << 20);
    const free = new Defragmenter(opts);
    expect(big.flatMap((f) => free.push(f))).toHaveLength(1);
  });
});

describe('Defragmenter memory', () => {
  it('a 3 MB fragment fed one byte at a time: the message, in bounded memory and time', () => {
    const msg = bytes(3_000_000);
    const stream = cat(fragmentMessage(5n, msg, msg.length + FRAGMENT_HEADER_SIZE));
    const d = new Defragmenter();
    const one = Buffer.alloc(1);
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    let peakRss = 0;
    let peakHeap = 0;
    const t0 = performance.now();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      // One buffer, reused: the defragmenter must copy what it keeps.
      one[0] = stream[i] as number;
      out.push(...d.push(one));
      if (i % 500_000 === 0) {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss - rss0);
        peakHeap = Math.max(peakHeap, m.heapUsed - heap0);
      }
    }
    const ms = performance.now() - t0;
    expect(out).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(out[0] as Uint8Array), Buffer.from(msg))).toBe(0);
    expect(d.bufferedBytes).toBe(0);
    expect(peakRss).toBeLessThan(64 * 1024 * 1024);
    expect(peakHeap).toBeLessThan(64 * 1024 * 1024);
    expect(ms).toBeLessThan(10_000);
  });

  it('fragments of interleaved objects split at every size come out the same', () => {
    const a = bytes(5000, 3);
    const b = bytes(777, 9);
    const fa = fragmentMessage(1n, a, 300);
    const fb = fragmentMessage(2n, b, 100);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < Math.max(fa.length, fb.length); i++) {
      if (fa[i]) parts.push(fa[i] as Uint8Array);
      if (fb[i]) parts.push(fb[i] as Uint8Array);
    }
    const stream = cat(parts);
    for (const step of [1, 2, 5, 21, 22, 64, 1000]) {
      const d = new Defragmenter();
      const out: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      expect(out.map((m) => Buffer.from(m).toString('hex'))).toEqual([
        Buffer.from(b).toString('hex'),
        Buffer.from(a).toString('hex'),
      ]);
      d.end();
    }
  });
});

describe('splitFragments', () => {
  it('takes apart packed fragments at their headers, empty blobs included', () => {
    const a = fragmentMessage(1n, new Uint8Array(100).fill(1), 40);
    const b = fragmentMessage(2n, new Uint8Array(0), 40);
    const packed = Buffer.concat([...a, ...b]);
    const parts = splitFragments(packed);
    expect(parts.map((p) => p.length)).toEqual([...a, ...b].map((p) => p.length));
    expect(Buffer.concat(parts).equals(packed)).toBe(true);
    expect(splitFragments(new Uint8Array(0))).toEqual([]);
  });

  it('refuses data that does not end on a fragment boundary', () => {
    const f = fragmentMessage(1n, new Uint8Array(10), 64)[0] as Uint8Array;
    expect(() => splitFragments(f.subarray(0, f.length - 1))).toThrow(PsrpProtocolError);
    expect(() => splitFragments(f.subarray(0, 10))).toThrow(/not a whole fragment/);
    expect(() => splitFragments(Buffer.concat([f, f.subarray(0, 22)]))).toThrow(/at 31/);
  });
});
