import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** What a daemon error frame keeps for the message (the rest still goes to stderr). */
const MAX_SYSTEM_ERROR = 64 * 1024;

/**
 * The multiplexed exec stream (Tty=false; moby stdcopy.go): frames of [type, 0, 0, 0, size u32 BE] + payload.
 * Type 1 is stdout, 2 stderr, 3 a daemon error (fatal). A payload is passed on as its bytes arrive, never held
 * until its frame is whole, so what this holds is an 8-byte header at most, whatever the sizes; a frame that
 * declares more than `maxFrame` is still an error (no engine writes one).
 */
export class ExecDemuxer {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  systemError: string | undefined;
  private readonly maxFrame: number;
  /** The header being read (a chunk may end inside one). */
  private header: Buffer = Buffer.alloc(0);
  private frameType = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** Text of daemon error frames, a character cut between chunks kept whole. */
  private readonly systemText = new StringDecoder('utf8');

  constructor(source: Readable, head: Buffer, maxFrame = 64 * 1024 * 1024) {
    this.maxFrame = maxFrame;
    this.source = source;
    if (head.length) this.push(head);
    source.on('data', (c: Buffer) => this.push(c));
    source.on('end', () => this.end());
    source.on('close', () => this.end());
    source.on('error', (e) => {
      this.stdout.destroy(e);
      this.stderr.end();
    });
    // Backpressure: stop reading the socket while the OutOfProc reader is behind.
    this.stdout.on('drain', () => source.resume());
  }

  private readonly source: Readable;
  private ended = false;
  private failed = false;

  private push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.failed) {
      if (this.remaining === 0) {
        const take = chunk.subarray(off, off + 8 - this.header.length);
        off += take.length;
        this.header = this.header.length ? Buffer.concat([this.header, take]) : Buffer.from(take);
        if (this.header.length < 8) return;
        this.frameType = this.header[0] as number;
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        if (this.remaining > this.maxFrame) {
          this.failed = true;
          this.stdout.destroy(
            new Error(`an exec stream frame of ${this.remaining} bytes exceeds ${this.maxFrame}`),
          );
          this.source.destroy();
        }
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - off);
      const payload = chunk.subarray(off, off + n);
      off += n;
      this.remaining -= n;
      this.deliver(payload);
    }
  }

  private deliver(payload: Buffer): void {
    switch (this.frameType) {
      case 1:
        if (!this.stdout.write(payload)) this.source.pause();
        break;
      case 2:
        this.stderr.write(payload);
        break;
      case 3: {
        const had = this.systemError ?? '';
        if (had.length < MAX_SYSTEM_ERROR)
          this.systemError = had + this.systemText.write(payload.subarray(0, MAX_SYSTEM_ERROR - had.length));
        this.stderr.write(payload);
        break;
      }
      // type 0 (stdin echo) is ignored.
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stderr.end();
    this.stdout.end();
  }
}
