import { createServer, type Server, type Socket } from 'node:net';

/** One message of a scripted conversation: its text and how it is encoded on the wire. */
export interface Msg {
  readonly text: string;
  readonly enc: 'utf8' | 'utf16le';
}
export const a = (text: string): Msg => ({ text, enc: 'utf8' });
export const u = (text: string): Msg => ({ text, enc: 'utf16le' });
const bytes = (m: Msg): Buffer => Buffer.from(m.text, m.enc);

export interface MockScript {
  /** What the client must send, in order; each must arrive as exactly one read of exactly its length. */
  readonly expect: readonly Msg[];
  /** What the mock answers, one after each expected message while any are left (`first` goes out at once). */
  readonly replies: readonly (Msg | null)[];
  /** Sent as soon as the client connects, before reading (a server that speaks first). */
  readonly first?: Msg;
  /** Extra bytes sent in the same write as the last reply (data that follows the handshake). */
  readonly trailer?: Buffer;
}

export interface MockResult {
  /** Every read as it arrived. */
  readonly reads: Buffer[];
  /** The first difference from the script, if any. */
  readonly mismatch: string | undefined;
  /** Whether the client closed its side after the script. */
  readonly closedByClient: boolean;
}

/**
 * A scripted PowerShell Direct peer on 127.0.0.1, in the manner of PowerShell's own mock broker
 * (test_RemoteHyperV.cs): each client message must come as one read of exactly the expected bytes, and each is
 * answered with the next scripted reply. One script per accepted connection, in order.
 */
export class MockPeer {
  private readonly server: Server;
  private readonly results: Promise<MockResult>[] = [];
  private readonly waiters: ((r: Promise<MockResult>) => void)[] = [];
  private scripts: MockScript[];
  readonly sockets: Socket[] = [];

  private constructor(scripts: MockScript[]) {
    this.scripts = [...scripts];
    this.server = createServer((s) => this.serve(s));
  }

  static async start(...scripts: MockScript[]): Promise<MockPeer & { port: number }> {
    const m = new MockPeer(scripts);
    await new Promise<void>((resolve) => m.server.listen(0, '127.0.0.1', resolve));
    const port = (m.server.address() as { port: number }).port;
    return Object.assign(m, { port });
  }

  /** The result of the n-th connection (0-based), when its client has closed or the script failed. */
  result(n = 0): Promise<MockResult> {
    const r = this.results[n];
    if (r) return r;
    return new Promise((resolve) => {
      this.waiters[n] = (p) => resolve(p);
    });
  }

  get connections(): number {
    return this.results.length;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(s: Socket): void {
    this.sockets.push(s);
    const script = this.scripts.shift() ?? { expect: [], replies: [] };
    const n = this.results.length;
    const p = new Promise<MockResult>((resolve) => {
      const reads: Buffer[] = [];
      const expect = [...script.expect];
      const replies = [...script.replies];
      let mismatch: string | undefined;
      const send = () => {
        const r = replies.shift();
        if (r === undefined || r === null) return;
        const last = replies.length === 0 && script.trailer;
        s.write(last ? Buffer.concat([bytes(r), script.trailer as Buffer]) : bytes(r));
      };
      if (script.first) s.write(bytes(script.first));
      s.on('data', (chunk) => {
        reads.push(chunk);
        const want = expect.shift();
        if (mismatch) return;
        if (!want) {
          mismatch = `unexpected read after the script: ${JSON.stringify(chunk.toString('latin1'))}`;
          return;
        }
        const w = bytes(want);
        if (!chunk.equals(w)) {
          mismatch = `expected ${JSON.stringify(want.text)} (${w.length} bytes ${want.enc}), read ${chunk.length} bytes ${JSON.stringify(chunk.toString(want.enc))}`;
          return;
        }
        send();
      });
      const done = (closedByClient: boolean) =>
        resolve({
          reads,
          mismatch:
            mismatch ?? (expect.length ? `missing: ${expect.map((m) => m.text).join(', ')}` : undefined),
          closedByClient,
        });
      s.on('end', () => {
        done(true);
        s.end();
      });
      s.on('close', () => done(false));
      s.on('error', () => {});
    });
    this.results.push(p);
    this.waiters[n]?.(p);
  }
}
