import { PsrpProtocolError } from '../errors.ts';

/** MS-PSRP 2.2.4: ObjectId(8) FragmentId(8) Flags(1) BlobLength(4), all big-endian. */
export const FRAGMENT_HEADER_SIZE = 21;
const START = 0x1;
const END = 0x2;

export interface Fragment {
  readonly objectId: bigint;
  readonly fragmentId: bigint;
  readonly start: boolean;
  readonly end: boolean;
  readonly blob: Uint8Array;
}

export function encodeFragment(f: Fragment): Uint8Array {
  const out = Buffer.allocUnsafe(FRAGMENT_HEADER_SIZE + f.blob.length);
  out.writeBigUInt64BE(f.objectId, 0);
  out.writeBigUInt64BE(f.fragmentId, 8);
  out[16] = (f.start ? START : 0) | (f.end ? END : 0);
  out.writeUInt32BE(f.blob.length, 17);
  out.set(f.blob, FRAGMENT_HEADER_SIZE);
  return out;
}

/**
 * Splits one message into fragments of at most `maxFragmentSize` bytes each, header included
 * (BaseTransportManager.cs: 32 KiB fragments, so 32747-byte blobs).
 */
export function fragmentMessage(
  objectId: bigint,
  message: Uint8Array,
  maxFragmentSize: number,
): Uint8Array[] {
  const room = maxFragmentSize - FRAGMENT_HEADER_SIZE;
  if (room <= 0)
    throw new PsrpProtocolError('PsrpFragmentSize', `fragment size ${maxFragmentSize} is too small`, {
      remote: false,
    });
  if (message.length === 0)
    return [encodeFragment({ objectId, fragmentId: 0n, start: true, end: true, blob: message })];
  const out: Uint8Array[] = [];
  let id = 0n;
  for (let off = 0; off < message.length; off += room) {
    const blob = message.subarray(off, Math.min(message.length, off + room));
    out.push(
      encodeFragment({
        objectId,
        fragmentId: id++,
        start: off === 0,
        end: off + room >= message.length,
        blob,
      }),
    );
  }
  return out;
}

interface Pending {
  parts: Uint8Array[];
  size: number;
  nextId: bigint;
}

/**
 * Reassembles messages from fragments (MS-PSRP 2.2.4, 3.1.5.1.2): several fragments, of interleaved objects,
 * may come in one payload, and a payload may end mid-fragment. Bounded: a message above `maxMessageSize` or
 * more than `maxPendingObjects` unfinished objects is a protocol error, never unbounded memory.
 */
export class Defragmenter {
  private readonly maxMessageSize: number;
  private readonly maxPendingObjects: number;
  private readonly pending = new Map<bigint, Pending>();
  private carry: Buffer = Buffer.alloc(0);

  constructor(options: { maxMessageSize?: number; maxPendingObjects?: number } = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 256 * 1024 * 1024;
    this.maxPendingObjects = options.maxPendingObjects ?? 1024;
  }

  /** Bytes of an incomplete fragment waiting for the rest. */
  get bufferedBytes(): number {
    return this.carry.length;
  }

  push(bytes: Uint8Array): Uint8Array[] {
    let buf = this.carry.length
      ? Buffer.concat([this.carry, bytes])
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const done: Uint8Array[] = [];
    let off = 0;
    while (buf.length - off >= FRAGMENT_HEADER_SIZE) {
      const objectId = buf.readBigUInt64BE(off);
      const fragmentId = buf.readBigUInt64BE(off + 8);
      const flags = buf[off + 16] as number;
      const len = buf.readUInt32BE(off + 17);
      if (len > this.maxMessageSize) {
        throw new PsrpProtocolError(
          'PsrpMessageTooLarge',
          `a fragment of ${len} bytes exceeds the ${this.maxMessageSize}-byte limit`,
        );
      }
      if (buf.length - off - FRAGMENT_HEADER_SIZE < len) break;
      const blob = buf.subarray(off + FRAGMENT_HEADER_SIZE, off + FRAGMENT_HEADER_SIZE + len);
      off += FRAGMENT_HEADER_SIZE + len;
      const msg = this.accept(objectId, fragmentId, (flags & START) !== 0, (flags & END) !== 0, blob);
      if (msg) done.push(msg);
    }
    // Keep only the incomplete tail (copied, so the caller's buffer can be reused).
    this.carry = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    buf = Buffer.alloc(0);
    return done;
  }

  private accept(
    objectId: bigint,
    fragmentId: bigint,
    start: boolean,
    end: boolean,
    blob: Uint8Array,
  ): Uint8Array | undefined {
    if (start) {
      if (this.pending.has(objectId)) {
        throw new PsrpProtocolError('PsrpFragmentOutOfOrder', `object ${objectId} started twice`);
      }
      if (fragmentId !== 0n) {
        throw new PsrpProtocolError(
          'PsrpFragmentOutOfOrder',
          `object ${objectId} starts with fragment ${fragmentId}, not 0`,
        );
      }
      if (end) return Buffer.from(blob);
      if (this.pending.size >= this.maxPendingObjects) {
        throw new PsrpProtocolError(
          'PsrpTooManyPendingObjects',
          `more than ${this.maxPendingObjects} objects are unfinished`,
        );
      }
      this.pending.set(objectId, { parts: [Buffer.from(blob)], size: blob.length, nextId: 1n });
      return undefined;
    }
    const p = this.pending.get(objectId);
    if (!p)
      throw new PsrpProtocolError(
        'PsrpFragmentOutOfOrder',
        `fragment ${fragmentId} of object ${objectId} came without its start`,
      );
    if (fragmentId !== p.nextId) {
      throw new PsrpProtocolError(
        'PsrpFragmentOutOfOrder',
        `object ${objectId}: fragment ${fragmentId} came where ${p.nextId} was due`,
      );
    }
    p.size += blob.length;
    if (p.size > this.maxMessageSize) {
      this.pending.delete(objectId);
      throw new PsrpProtocolError(
        'PsrpMessageTooLarge',
        `object ${objectId} exceeds the ${this.maxMessageSize}-byte limit`,
      );
    }
    p.parts.push(Buffer.from(blob));
    p.nextId++;
    if (!end) return undefined;
    this.pending.delete(objectId);
    return Buffer.concat(p.parts, p.size);
  }
}
