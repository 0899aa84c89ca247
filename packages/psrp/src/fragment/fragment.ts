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
 * The whole fragments in `data` (one or more, back to back), as views into it: how a transport that writes one
 * fragment per packet takes apart what the kernel packed. Throws PsrpFragmentSize when `data` does not end on a
 * fragment boundary (a caller's bug, never peer input: received data goes through the Defragmenter).
 */
export function splitFragments(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off < data.length) {
    const end =
      off + FRAGMENT_HEADER_SIZE + (off + FRAGMENT_HEADER_SIZE <= data.length ? view.getUint32(off + 17) : 0);
    if (off + FRAGMENT_HEADER_SIZE > data.length || end > data.length)
      throw new PsrpProtocolError(
        'PsrpFragmentSize',
        `${data.length - off} bytes at ${off} are not a whole fragment`,
        {
          remote: false,
        },
      );
    out.push(data.subarray(off, end));
    off = end;
  }
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
  /** Blob bytes held. */
  size: number;
  /** Bytes on the wire so far, fragment headers included (what PowerShell counts against the object limit). */
  wire: number;
  /** The limit that applies to this object (it depends on whether its message concerns a pipeline). */
  limit: number;
  nextId: bigint;
}

/** BaseTransportManager.cs MaximumReceivedObjectSize: 10 MiB, the limit PowerShell's OutOfProc client applies. */
export const DEFAULT_MAX_RECEIVED_OBJECT_SIZE = 10 << 20;

const INT32_MAX = 0x7fffffff;
/** MS-PSRP 2.2.1: the message header inside the blob (Destination, MessageType, RPID, PID). */
const MESSAGE_HEADER_SIZE = 40;
const INT64_MAX = 2n ** 63n - 1n;

export interface DefragmenterOptions {
  /**
   * PowerShell's MaximumReceivedObjectSize: the most bytes one object (one message) may take on the wire,
   * fragment headers included, as ReceiveDataCollection counts them (PriorityCollection.cs). Checked when
   * each fragment's header arrives, against what the object has received so far plus the length the header
   * declares: a fragment declaring 250 MB is refused before its bytes come, and nothing beyond the limit is
   * held. Exceeding it is a `ReceivedObjectSizeExceededMaximumClient` error. Default 10 MiB
   * (BaseTransportManager.cs, the OutOfProc client's value); `null` for no limit.
   */
  readonly maxReceivedObjectSize?: number | null;
  /** @deprecated The same limit under its former name; use `maxReceivedObjectSize` (which wins when both are given). */
  readonly maxMessageSize?: number;
  /**
   * The object limit for messages that concern a pipeline (a message header, MS-PSRP 2.2.1, whose PID is not
   * all zero), when it differs: PowerShell's OutOfProc client limits only its session's objects (10 MiB) and
   * none of its commands' (their transport managers get no limit), while a WSMan client applies
   * PSSessionOption's MaximumReceivedObjectSize (200 MiB by default) to both. To tell, a start fragment's first
   * 40 blob bytes are awaited before its size is judged; one whose blob is shorter gets the smaller limit.
   * Default: `maxReceivedObjectSize`. `null` for no limit.
   */
  readonly maxReceivedPipelineObjectSize?: number | null;
  /** Most objects with a start fragment but no end fragment yet (default 1024). */
  readonly maxPendingObjects?: number;
  /**
   * Most bytes held in total: unfinished objects plus an incomplete fragment (default twice
   * maxReceivedObjectSize; no limit when that has none).
   */
  readonly maxBufferedBytes?: number;
}

/** RemotingErrorIdStrings.resx ReceivedObjectSizeExceededMaximumClient, PowerShell's id and text. */
export function receivedObjectSizeExceeded(size: number, max: number): PsrpProtocolError {
  return new PsrpProtocolError(
    'ReceivedObjectSizeExceededMaximumClient',
    `The current deserialized object size of the data received from the remote server exceeded the allowed maximum object size. The current deserialized object size is ${size}. The allowed maximum object size is ${max}.`,
  );
}

/**
 * Reassembles messages from fragments (MS-PSRP 2.2.4, 3.1.5.1.2): several fragments, of interleaved objects,
 * may come in one payload, and a payload may end mid-fragment (the rest comes with the next push). Bounded: an
 * object above `maxReceivedObjectSize`, more than `maxPendingObjects` unfinished objects or more than
 * `maxBufferedBytes` held is a protocol error, never unbounded memory; a fragment out of order or over the
 * limit is refused as soon as its header is read. After an error the stream is broken and every later push
 * throws the same error.
 */
export class Defragmenter {
  private readonly maxObjectSize: number;
  private readonly maxPipelineObjectSize: number;
  private readonly maxPendingObjects: number;
  private readonly maxBufferedBytes: number;
  private readonly pending = new Map<bigint, Pending>();
  private pendingSize = 0;
  /**
   * The bytes of an incomplete fragment, in one buffer whose capacity doubles (bounded by `need` once the
   * chunk fits): amortized linear copying, and memory of about the bytes held, however small the chunks.
   */
  private carry: Buffer | undefined;
  private carrySize = 0;
  private need = FRAGMENT_HEADER_SIZE;
  private failed: PsrpProtocolError | undefined;
  private _lastWireSize = 0;
  /** The limit checkHeader applied to the fragment just read (kept with a new pending object). */
  private startLimit = 0;

  constructor(options: DefragmenterOptions = {}) {
    const max =
      options.maxReceivedObjectSize !== undefined
        ? options.maxReceivedObjectSize
        : (options.maxMessageSize ?? DEFAULT_MAX_RECEIVED_OBJECT_SIZE);
    this.maxObjectSize = max ?? Number.POSITIVE_INFINITY;
    this.maxPipelineObjectSize =
      options.maxReceivedPipelineObjectSize !== undefined
        ? (options.maxReceivedPipelineObjectSize ?? Number.POSITIVE_INFINITY)
        : this.maxObjectSize;
    this.maxPendingObjects = options.maxPendingObjects ?? 1024;
    this.maxBufferedBytes =
      options.maxBufferedBytes ?? 2 * Math.max(this.maxObjectSize, this.maxPipelineObjectSize);
  }

  /** Bytes of an incomplete fragment waiting for the rest. */
  get bufferedBytes(): number {
    return this.carrySize;
  }

  /** Objects started but not finished. */
  get pendingObjects(): number {
    return this.pending.size;
  }

  /**
   * The wire size (fragment headers included) of the message `messages()` yielded last: what a per-command
   * receive quota counts.
   */
  get lastMessageWireSize(): number {
    return this._lastWireSize;
  }

  /** The messages these bytes complete, in order; a bad fragment throws (and breaks the stream). */
  push(bytes: Uint8Array): Uint8Array[] {
    return [...this.messages(bytes)];
  }

  /**
   * Like push, but yields each message as soon as its last fragment is read: the messages a payload completes
   * before a bad fragment reach the caller before the error does (no data lost to a later fault).
   */
  *messages(bytes: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (this.failed) throw this.failed;
    let finished = false;
    try {
      yield* this.read(bytes);
      finished = true;
    } catch (e) {
      if (e instanceof PsrpProtocolError) this.failed = e;
      throw e;
    } finally {
      // A reader that stops half-way leaves the rest of the payload unread: the stream cannot go on.
      if (!finished)
        this.failed ??= new PsrpProtocolError('PsrpFragmentAbandoned', 'a payload was not read to its end');
    }
  }

  /**
   * Declares the end of the stream: an incomplete fragment or an unfinished object is then a truncation, a
   * protocol error. Call it when the transport closes, to tell a clean end from a cut one.
   */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.carrySize > 0) {
      throw this.fail(
        'PsrpFragmentTruncated',
        `the stream ended inside a fragment (${this.carrySize} of ${this.need} bytes)`,
      );
    }
    if (this.pending.size > 0) {
      throw this.fail(
        'PsrpFragmentTruncated',
        `the stream ended with ${this.pending.size} unfinished object(s): ${[...this.pending.keys()].join(', ')}`,
      );
    }
  }

  private fail(errorId: string, message: string): PsrpProtocolError {
    this.failed = new PsrpProtocolError(errorId, message);
    return this.failed;
  }

  private *read(bytes: Uint8Array): Generator<Uint8Array, void, undefined> {
    let buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    /** The carry buffer when `buf` is read from it (an unread carry then stays where it is). */
    let carried: Buffer | undefined;
    if (this.carrySize > 0) {
      // Copied into the carry: the caller may reuse its buffer once push returns.
      this.appendCarry(buf);
      if (this.carrySize < this.need) {
        this.checkBudget();
        return;
      }
      carried = this.carry as Buffer;
      buf = carried.subarray(0, this.carrySize);
      this.carry = undefined;
      this.carrySize = 0;
    }
    let off = 0;
    for (;;) {
      const left = buf.length - off;
      if (left < FRAGMENT_HEADER_SIZE) {
        this.need = FRAGMENT_HEADER_SIZE;
        break;
      }
      const objectId = buf.readBigUInt64BE(off);
      const fragmentId = buf.readBigUInt64BE(off + 8);
      const flags = buf[off + 16] as number;
      const len = buf.readUInt32BE(off + 17);
      const start = (flags & START) !== 0;
      // A start fragment's limit may depend on its message header: then wait for those 40 bytes (no more) first.
      const head =
        start && this.maxPipelineObjectSize !== this.maxObjectSize ? Math.min(len, MESSAGE_HEADER_SIZE) : 0;
      if (left < FRAGMENT_HEADER_SIZE + head) {
        this.need = FRAGMENT_HEADER_SIZE + head;
        break;
      }
      // Everything the header decides is decided now, before its blob is waited for or held.
      const p = this.checkHeader(
        objectId,
        fragmentId,
        start,
        (flags & END) !== 0,
        len,
        head === MESSAGE_HEADER_SIZE
          ? this.limitFor(buf.subarray(off + FRAGMENT_HEADER_SIZE, off + FRAGMENT_HEADER_SIZE + head))
          : Math.min(this.maxObjectSize, this.maxPipelineObjectSize),
      );
      if (left < FRAGMENT_HEADER_SIZE + len) {
        this.need = FRAGMENT_HEADER_SIZE + len;
        break;
      }
      const blob = buf.subarray(off + FRAGMENT_HEADER_SIZE, off + FRAGMENT_HEADER_SIZE + len);
      off += FRAGMENT_HEADER_SIZE + len;
      const msg = this.accept(objectId, p, (flags & END) !== 0, blob);
      if (msg) yield msg;
    }
    if (off < buf.length) {
      // Keep only the incomplete tail: the carry itself when nothing of it was read, else a copy (the caller's
      // buffer may be reused; a large carry is not pinned for a small tail).
      if (carried && off === 0) {
        this.carry = carried;
      } else {
        this.carry = undefined;
        this.carrySize = 0;
        this.appendCarry(buf.subarray(off));
      }
      this.carrySize = buf.length - off;
      this.checkBudget();
    }
  }

  /** Appends to the carry, growing its capacity by doubling (up to `need` when that is enough). */
  private appendCarry(bytes: Buffer): void {
    const want = this.carrySize + bytes.length;
    const carry = this.carry;
    if (!carry || carry.length < want) {
      const doubled = Math.max(2 * (carry?.length ?? 0), 64);
      const grown = Buffer.allocUnsafe(Math.max(want, Math.min(doubled, this.need)));
      if (carry && this.carrySize > 0) carry.copy(grown, 0, 0, this.carrySize);
      this.carry = grown;
    }
    bytes.copy(this.carry as Buffer, this.carrySize);
    this.carrySize = want;
  }

  private checkBudget(): void {
    if (this.pendingSize + this.carrySize > this.maxBufferedBytes) {
      throw new PsrpProtocolError(
        'PsrpMessageTooLarge',
        `more than ${this.maxBufferedBytes} bytes of unfinished messages are held`,
      );
    }
  }

  /** The limit for an object whose message header (MS-PSRP 2.2.1) is `head`: by its PID, zero or not. */
  private limitFor(head: Uint8Array): number {
    for (let i = 24; i < MESSAGE_HEADER_SIZE; i++) if (head[i] !== 0) return this.maxPipelineObjectSize;
    return this.maxObjectSize;
  }

  /**
   * The checks PowerShell's ReceiveDataCollection makes on a fragment header (PriorityCollection.cs), made as
   * soon as the 21 header bytes are in; returns the object's pending state (undefined for a start fragment).
   * Idempotent: a header read again once its blob is complete passes again.
   */
  private checkHeader(
    objectId: bigint,
    fragmentId: bigint,
    start: boolean,
    end: boolean,
    len: number,
    startLimit: number,
  ): Pending | undefined {
    // MS-PSRP 2.2.4: ObjectId is an int64 above 0 (read unsigned here: the sign bit makes it too big).
    if (objectId === 0n || objectId > INT64_MAX) {
      throw new PsrpProtocolError(
        'ObjectIdCannotBeLessThanZero',
        'ObjectId cannot be less than or equal to 0. This can happen if the fragments are not properly constructed by the remote computer, or the data has been changed by unauthorized users.',
      );
    }
    // BlobLength is an int32: one with the sign bit set cannot be a length.
    if (len > INT32_MAX - FRAGMENT_HEADER_SIZE) {
      throw new PsrpProtocolError(
        'ObjectIsTooBig',
        'Remoting data is too large to be reassembled from the fragments. This can happen if the length of the data in a fragment is greater than Int32.Max. It can also occur if the data was changed by unauthorized users.',
      );
    }
    const p = this.pending.get(objectId);
    if (start) {
      if (p) throw new PsrpProtocolError('PsrpFragmentOutOfOrder', `object ${objectId} started twice`);
      if (fragmentId !== 0n) {
        throw new PsrpProtocolError(
          'PsrpFragmentOutOfOrder',
          `object ${objectId} starts with fragment ${fragmentId}, not 0`,
        );
      }
      if (!end && this.pending.size >= this.maxPendingObjects) {
        throw new PsrpProtocolError(
          'PsrpTooManyPendingObjects',
          `more than ${this.maxPendingObjects} objects are unfinished`,
        );
      }
    } else {
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
    }
    const total = (p && !start ? p.wire : 0) + FRAGMENT_HEADER_SIZE + len;
    const limit = start ? startLimit : (p as Pending).limit;
    if (total > limit) throw receivedObjectSizeExceeded(total, limit);
    this.startLimit = limit;
    return start ? undefined : p;
  }

  private accept(
    objectId: bigint,
    p: Pending | undefined,
    end: boolean,
    blob: Uint8Array,
  ): Uint8Array | undefined {
    const wire = FRAGMENT_HEADER_SIZE + blob.length;
    if (!p) {
      if (end) {
        this._lastWireSize = wire;
        return Buffer.from(blob);
      }
      this.pending.set(objectId, {
        parts: [Buffer.from(blob)],
        size: blob.length,
        wire,
        limit: this.startLimit,
        nextId: 1n,
      });
      this.pendingSize += blob.length;
      this.checkBudget();
      return undefined;
    }
    p.size += blob.length;
    p.wire += wire;
    p.parts.push(Buffer.from(blob));
    p.nextId++;
    this.pendingSize += blob.length;
    if (!end) {
      this.checkBudget();
      return undefined;
    }
    this.pending.delete(objectId);
    this.pendingSize -= p.size;
    this._lastWireSize = p.wire;
    return Buffer.concat(p.parts, p.size);
  }
}
