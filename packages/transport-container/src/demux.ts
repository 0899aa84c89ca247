import { PassThrough, type Readable } from 'node:stream';

/**
 * The multiplexed exec stream (Tty=false; moby stdcopy.go): frames of [type, 0, 0, 0, size u32 BE] + payload.
 * Type 1 is stdout, 2 stderr, 3 a daemon error (fatal). Bounded by the frame size field, never by the peer's
 * goodwill: a frame larger than `maxFrame` is an error.
 */
export class ExecDemuxer {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  systemError: string | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly maxFrame: number;

  constructor(source: Readable, head: Buffer, maxFrame = 64 * 1024 * 1024) {
    this.maxFrame = maxFrame;
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
    this.source = source;
  }

  private readonly source: Readable;
  private ended = false;

  private push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (this.buf.length - off >= 8) {
      const type = this.buf[off] as number;
      const size = this.buf.readUInt32BE(off + 4);
      if (size > this.maxFrame) {
        this.stdout.destroy(new Error(`an exec stream frame of ${size} bytes exceeds ${this.maxFrame}`));
        this.source.destroy();
        return;
      }
      if (this.buf.length - off - 8 < size) break;
      const payload = this.buf.subarray(off + 8, off + 8 + size);
      off += 8 + size;
      if (type === 1) {
        if (!this.stdout.write(payload)) this.source.pause();
      } else if (type === 2) this.stderr.write(payload);
      else if (type === 3) {
        this.systemError = (this.systemError ?? '') + payload.toString('utf8');
        this.stderr.write(payload);
      }
      // type 0 (stdin echo) is ignored.
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stderr.end();
    this.stdout.end();
  }
}
