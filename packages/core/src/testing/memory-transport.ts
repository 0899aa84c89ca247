import { PassThrough, Readable, Writable } from 'node:stream';
import {
  decodePacket,
  EMPTY_GUID,
  encodePacket,
  guidFromBytes,
  type OutOfProcPacket,
  PacketLineSplitter,
  testing,
} from '@psremote/psrp';
import { createOutOfProcConnection, type OutOfProcConnectionOptions } from '../outofproc/connection.ts';
import type {
  TransportConnection,
  TransportContext,
  TransportPlugin,
  TransportTarget,
} from '../transport/contract.ts';
import type { OutOfProcStream } from '../transport/outofproc-stream.ts';
import { TransportPluginToken } from '../transport/tokens.ts';
import { seededRandom } from './seeded-random.ts';

type FakePsrpServer = testing.FakePsrpServer;
type FakeServerOptions = testing.FakeServerOptions;

/** The acknowledgements the far end sends; each can be withheld to test a server that does not answer. */
export type MemoryAckKind = 'DataAck' | 'CommandAck' | 'SignalAck' | 'CloseAck';

export interface MemoryOutOfProcOptions {
  /** The PSRP server at the far end; default `new FakePsrpServer(serverOptions)`. */
  readonly server?: FakePsrpServer;
  readonly serverOptions?: FakeServerOptions;
  /**
   * Largest chunk of bytes handed to the client at once; packets are cut wherever the chunk ends, across lines
   * (default 65536, a pipe's read). `'random'`: sizes 1..97 from a seeded generator (`seed`).
   */
  readonly chunkSize?: number | 'random';
  readonly seed?: number;
  /** Milliseconds before each chunk reaches the client (default 0: the next turn of the event loop). */
  readonly latencyMs?: number;
  /** Bytes the client's input buffers before the far end must wait (Readable highWaterMark, default 16 KiB). */
  readonly highWaterMark?: number;
  /** Lines written before anything else (a login banner, shell noise). */
  readonly banner?: readonly string[];
  /** Called after each packet from the client was handled (to script a server that waits for input). */
  readonly afterPacket?: (packet: OutOfProcPacket, pair: MemoryOutOfProcPair) => void;
  /** `OutOfProcStream.description` (default `memory peer <n>`). */
  readonly description?: string;
  /** `OutOfProcStream.errorLinePrefix`. */
  readonly errorLinePrefix?: string;
}

let nextPairNumber = 1;

/**
 * An in-memory OutOfProc duplex pair: `stream` is the client's end (what a transport hands to
 * `createOutOfProcConnection`); the far end speaks OutOfProc packets (protocols.md 3.1-3.2) for psrp's
 * FakePsrpServer: Data goes to the server and is acknowledged (DataAck), Command gets CommandAck, Signal stops the
 * pipeline (SignalAck), Close releases a pipeline or ends the session (CloseAck, then EOF as pwsh exits). What
 * the server sends is delivered as Data packets, one per fragment, honouring the client's backpressure. Knobs
 * make it misbehave: chunking, latency, stray lines, stderr text, withheld acknowledgements, silence, EOF.
 */
export class MemoryOutOfProcPair {
  readonly server: FakePsrpServer;
  /** The client's end. */
  readonly stream: OutOfProcStream;
  /** Every packet the client sent, in order. */
  readonly fromClient: OutOfProcPacket[] = [];
  /** Every packet the far end wrote (injected lines aside), in order. */
  readonly toClient: OutOfProcPacket[] = [];
  /** OutOfProc mistakes of the client (an unreadable line, a packet only a server sends). */
  readonly violations: string[] = [];
  /** How often `stream.dispose()` was called. */
  disposeCalls = 0;
  /** Bytes handed to the client's input so far. */
  bytesDelivered = 0;

  private readonly input: Readable;
  private readonly errors: PassThrough;
  private readonly options: MemoryOutOfProcOptions;
  private readonly splitter = new PacketLineSplitter();
  private readonly pending: Buffer[] = [];
  private readonly withheld = new Set<MemoryAckKind>();
  private readonly objectPipelines = new Map<bigint, string>();
  /** Data packets per guid not acknowledged yet: OutOfProc Data is lock-step (protocols.md 3.2). */
  private readonly unacked = new Map<string, number>();
  private readonly flushWaiters: (() => void)[] = [];
  private readonly clientWaiters: { test: (p: OutOfProcPacket) => boolean; resolve: () => void }[] = [];
  private wantMore = true;
  private scheduled = false;
  private ending = false;
  private ended = false;
  private silent = false;
  private random: () => number;

  constructor(options: MemoryOutOfProcOptions = {}) {
    this.options = options;
    this.server = options.server ?? new testing.FakePsrpServer(options.serverOptions);
    this.random = seededRandom(options.seed ?? 1);
    // Whatever the server queues, by a pipeline's script or a test's call, goes out on the next microtask.
    const server = this.server;
    const send = server.send.bind(server);
    const sendRaw = server.sendRaw.bind(server);
    let queued = false;
    const flushSoon = () => {
      if (queued) return;
      queued = true;
      queueMicrotask(() => {
        queued = false;
        this.flushServer();
      });
    };
    server.send = (...a: Parameters<FakePsrpServer['send']>) => {
      send(...a);
      flushSoon();
    };
    server.sendRaw = (bytes: Uint8Array) => {
      sendRaw(bytes);
      flushSoon();
    };
    this.input = new Readable({
      highWaterMark: options.highWaterMark ?? 16 * 1024,
      read: () => {
        this.wantMore = true;
        this.schedule();
      },
    });
    this.errors = new PassThrough();
    const output = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.fromClientBytes(chunk);
        cb();
      },
    });
    const description = options.description ?? `memory peer ${nextPairNumber++}`;
    this.stream = {
      input: this.input,
      output,
      errors: this.errors,
      description,
      ...(options.errorLinePrefix ? { errorLinePrefix: options.errorLinePrefix } : {}),
      dispose: async () => {
        this.disposeCalls++;
        // The process is gone: its pipes close.
        this.end({ discardPending: true });
      },
    };
    for (const line of options.banner ?? []) this.injectLine(line);
  }

  /** Bytes queued for the client but not delivered yet (the client's backpressure holds them). */
  get pendingBytes(): number {
    let n = 0;
    for (const b of this.pending) n += b.length;
    return n;
  }

  /** True once the client's input has ended (EOF written). */
  get isEnded(): boolean {
    return this.ended;
  }

  // ---- knobs ------------------------------------------------------------------------------------------

  /** Writes a raw line (a newline is added) to the client, in order with the packets. */
  injectLine(line: string): void {
    this.enqueue(Buffer.from(`${line}\n`, 'utf8'));
  }

  /** Writes raw bytes to the client (no newline added): a partial packet, a line split by hand. */
  injectBytes(bytes: Uint8Array | string): void {
    this.enqueue(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes));
  }

  /** Writes one packet to the client (an ack the far end withheld, a packet only a client sends). */
  sendPacket(packet: OutOfProcPacket): void {
    if (packet.kind === 'DataAck') {
      const n = this.unacked.get(packet.psGuid) ?? 0;
      if (n > 1) this.unacked.set(packet.psGuid, n - 1);
      else this.unacked.delete(packet.psGuid);
    }
    this.toClient.push(packet);
    this.enqueue(Buffer.from(`${encodePacket(packet)}\n`, 'utf8'));
  }

  /** Writes text on the server's error stream (stderr). */
  writeStderr(text: string): void {
    if (!this.errors.writableEnded) this.errors.write(text);
  }

  /** These acknowledgements are not sent any more (until `answer`). */
  withhold(...kinds: MemoryAckKind[]): void {
    for (const k of kinds) this.withheld.add(k);
  }

  /** Sends these acknowledgements again (those withheld meanwhile stay unsent). */
  answer(...kinds: MemoryAckKind[]): void {
    for (const k of kinds) this.withheld.delete(k);
  }

  /** A hung server: from now on nothing the client sends is read or answered, and the server writes nothing. */
  stopAnswering(): void {
    this.silent = true;
    this.pending.length = 0;
  }

  /**
   * The server goes away (the process dies, the channel drops): EOF on its output and its error stream.
   * `stderr`: its last words; `partialLine`: half a packet written just before; `discardPending`: what was
   * still queued is lost (a kill), else it is delivered first.
   */
  end(options: { stderr?: string; partialLine?: string; discardPending?: boolean } = {}): void {
    if (this.ending) return;
    if (options.discardPending) this.pending.length = 0;
    if (options.partialLine !== undefined) this.injectBytes(options.partialLine);
    if (options.stderr !== undefined) this.writeStderr(options.stderr);
    this.ending = true;
    if (!this.errors.writableEnded) this.errors.end();
    this.schedule();
    if (this.pending.length === 0) this.finishInput();
  }

  /** The client's input fails (a read error, ECONNRESET). */
  destroy(error: Error): void {
    this.ending = true;
    this.ended = true;
    this.pending.length = 0;
    this.input.destroy(error);
    if (!this.errors.writableEnded) this.errors.end();
    for (const w of this.flushWaiters.splice(0)) w();
  }

  /** Resolves once everything queued so far was handed to the client. */
  flushed(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** Resolves when the client sends a packet that passes `test` (or one already sent does). */
  clientSent(test: (p: OutOfProcPacket) => boolean): Promise<void> {
    if (this.fromClient.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.clientWaiters.push({ test, resolve }));
  }

  // ---- the far end ------------------------------------------------------------------------------------

  private fromClientBytes(chunk: Buffer): void {
    if (this.ending || this.silent) return;
    let lines: string[];
    try {
      lines = this.splitter.push(chunk);
    } catch (e) {
      this.violations.push((e as Error).message);
      return;
    }
    for (const line of lines) {
      if (this.silent || this.ending) return;
      let packet: OutOfProcPacket;
      try {
        packet = decodePacket(line);
      } catch (e) {
        this.violations.push(`an unreadable line: ${(e as Error).message}`);
        continue;
      }
      this.fromClient.push(packet);
      this.onPacket(packet);
      this.options.afterPacket?.(packet, this);
      for (let i = this.clientWaiters.length - 1; i >= 0; i--) {
        const w = this.clientWaiters[i];
        if (w?.test(packet)) {
          this.clientWaiters.splice(i, 1);
          w.resolve();
        }
      }
    }
  }

  /** What PowerShell's OutOfProcessServerMediator does with each packet (protocols.md 3.2). */
  private onPacket(p: OutOfProcPacket): void {
    switch (p.kind) {
      case 'Data':
        if ((this.unacked.get(p.psGuid) ?? 0) > 0)
          this.violations.push(`Data for ${p.psGuid} before the DataAck of the previous one`);
        this.unacked.set(p.psGuid, (this.unacked.get(p.psGuid) ?? 0) + 1);
        try {
          this.server.receive(p.data);
        } catch (e) {
          this.violations.push(`data the server cannot read: ${(e as Error).message}`);
        }
        this.ack('DataAck', p.psGuid);
        return;
      case 'Command':
        this.ack('CommandAck', p.psGuid);
        return;
      case 'Signal':
        this.server.signalStop(p.psGuid);
        this.ack('SignalAck', p.psGuid);
        return;
      case 'Close':
        this.ack('CloseAck', p.psGuid);
        // The session's Close: pwsh exits after its CloseAck.
        if (p.psGuid === EMPTY_GUID && !this.withheld.has('CloseAck')) this.end();
        return;
      default:
        this.violations.push(`the client sent a ${p.kind} packet, which only a server sends`);
    }
  }

  private ack(kind: MemoryAckKind, psGuid: string): void {
    if (this.withheld.has(kind)) return;
    this.flushServer();
    this.sendPacket({ kind, psGuid });
  }

  /** The server's queued fragments, as Data packets for the pipeline whose message they carry. */
  private flushServer(): void {
    const fragments = this.server.takeOutput();
    if (this.silent || this.ending) return;
    for (const f of fragments) {
      this.sendPacket({ kind: 'Data', stream: 'Default', psGuid: this.pipelineOf(f), data: f });
    }
  }

  /** MS-PSRP 2.2.4 and 2.2.1: a start fragment's blob opens with the message header, PID at offset 24. */
  private pipelineOf(fragment: Uint8Array): string {
    if (fragment.length < 21) return EMPTY_GUID;
    const view = Buffer.from(fragment.buffer, fragment.byteOffset, fragment.byteLength);
    const objectId = view.readBigUInt64BE(0);
    const start = (view[16] ?? 0) & 1;
    if (start && fragment.length >= 21 + 40) {
      let pid = EMPTY_GUID;
      try {
        pid = guidFromBytes(fragment, 21 + 24);
      } catch {
        // A bad fragment (a test's sendRaw) is the client's to refuse; it travels as pool data.
      }
      this.objectPipelines.set(objectId, pid);
    }
    const pid = this.objectPipelines.get(objectId) ?? EMPTY_GUID;
    if ((view[16] ?? 0) & 2) this.objectPipelines.delete(objectId);
    return pid;
  }

  // ---- delivery ---------------------------------------------------------------------------------------

  private enqueue(bytes: Buffer): void {
    if (this.ending || bytes.length === 0) return;
    this.pending.push(bytes);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.ended || !this.wantMore || this.pending.length === 0) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.deliver();
    };
    if ((this.options.latencyMs ?? 0) > 0) setTimeout(run, this.options.latencyMs);
    else setImmediate(run);
  }

  private chunkLimit(): number {
    const c = this.options.chunkSize ?? 65_536;
    return c === 'random' ? 1 + Math.floor(this.random() * 97) : Math.max(1, c);
  }

  private deliver(): void {
    if (this.ended) return;
    const limit = this.chunkLimit();
    const parts: Buffer[] = [];
    let size = 0;
    while (size < limit && this.pending.length > 0) {
      const head = this.pending[0] as Buffer;
      const take = Math.min(head.length, limit - size);
      parts.push(head.subarray(0, take));
      size += take;
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    if (size > 0) {
      this.bytesDelivered += size;
      this.wantMore = this.input.push(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    }
    if (this.pending.length === 0) {
      for (const w of this.flushWaiters.splice(0)) w();
      if (this.ending) {
        this.finishInput();
        return;
      }
    }
    this.schedule();
  }

  private finishInput(): void {
    if (this.ended) return;
    this.ended = true;
    this.input.push(null);
    for (const w of this.flushWaiters.splice(0)) w();
  }
}

/** Options of the memory transport: those of each pair it makes, and of the OutOfProc connection over it. */
export interface MemoryTransportOptions extends Omit<MemoryOutOfProcOptions, 'server'> {
  /** A new server for each connection (default `new FakePsrpServer(serverOptions)`). */
  readonly createServer?: () => FakePsrpServer;
  /** Passed on to `createOutOfProcConnection` (the transport fills log, signal, ack timeout and limits). */
  readonly connection?: OutOfProcConnectionOptions;
  /** Called with each new pair before the connection uses it (to script the server, add knobs). */
  readonly onConnect?: (pair: MemoryOutOfProcPair) => void;
  /** `TransportTarget.computerName` (default `memory`). */
  readonly computerName?: string;
}

/** The memory transport: a TransportPlugin that connects each session to a MemoryOutOfProcPair of its own. */
export interface MemoryTransport extends TransportPlugin {
  /** Every pair made so far, in connect order. */
  readonly pairs: readonly MemoryOutOfProcPair[];
  /** The pair behind a session (by its target), to drive its server or make it misbehave. */
  pairOf(session: { readonly target: TransportTarget }): MemoryOutOfProcPair | undefined;
}

/**
 * A transport with no I/O, for tests of the kernel and of code built on it:
 * `openSession({ transport: createMemoryTransport(), hostUi })` opens a session on the fake PSRP server through
 * the shared OutOfProc connection, as transport-process does over `pwsh -s`.
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  const pairs: MemoryOutOfProcPair[] = [];
  const byTarget = new WeakMap<TransportTarget, MemoryOutOfProcPair>();
  const computerName = options.computerName ?? 'memory';
  return {
    name: 'memory',
    apiRange: '^2.0.0',
    // Like transport-process: no Enter-PSSession parameter set names it; callers pass it explicitly.
    parameterSets: [],
    pairs,
    pairOf: (session) => byTarget.get(session.target),
    resolveTarget: (): TransportTarget => ({
      computerName,
      prompt: { kind: 'prefix', text: `[${computerName}]: ` },
    }),
    async connect(target: TransportTarget, ctx: TransportContext): Promise<TransportConnection> {
      ctx.signal.throwIfAborted();
      const pair = new MemoryOutOfProcPair({
        ...options,
        ...(options.createServer ? { server: options.createServer() } : {}),
      });
      pairs.push(pair);
      byTarget.set(target, pair);
      options.onConnect?.(pair);
      return createOutOfProcConnection(pair.stream, {
        log: ctx.log,
        signal: ctx.signal,
        ackTimeoutMs: ctx.options.cancelTimeoutMs,
        maxReceivedObjectSize: ctx.options.maximumReceivedObjectSize,
        ...options.connection,
      });
    },
  };
}

/** What `registerMemoryTransport` needs of a DI container (tsyringe's `register` fits). */
export interface TransportRegistrar {
  register(token: symbol, provider: { useValue: TransportPlugin }): unknown;
}

/** Registers a memory transport under TransportPluginToken, as a transport package's `register` does. */
export function registerMemoryTransport(
  container: TransportRegistrar,
  options: MemoryTransportOptions = {},
): MemoryTransport {
  const transport = createMemoryTransport(options);
  container.register(TransportPluginToken, { useValue: transport });
  return transport;
}
