import {
  DEFAULT_MAX_LINE_LENGTH,
  decodePacket,
  EMPTY_GUID,
  encodePacket,
  type OutOfProcPacket,
  PacketLineSplitter,
  PsrpProtocolError,
  splitFragments,
} from '@psremote/psrp';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import { objectSizeExceededError } from '../session/limits.ts';
import type { Logger, OpenRequest, PsrpPayload, TransportConnection } from '../transport/contract.ts';
import { silentLogger } from '../transport/contract.ts';
import type { OutOfProcStream } from '../transport/outofproc-stream.ts';
import { AsyncQueue } from '../util/async-queue.ts';
import { type Deferred, deferred } from '../util/deferred.ts';
import {
  connectionTransition,
  isConnectionFinished,
  isGoingDown,
  type OutOfProcConnectionAction,
  type OutOfProcConnectionState,
} from './connection-states.ts';

export interface OutOfProcConnectionOptions {
  readonly log?: Logger;
  /** Aborting it fails the connection and disposes the stream (Ctrl+C while connecting). */
  readonly signal?: AbortSignal;
  /**
   * Fail when no packet has arrived this long after the start (PowerShell's -ConnectingTimeout for SSH,
   * OutOfProcTransportManager: "SSH connection attempt failed after time out"). Undefined: wait forever.
   */
  readonly connectingTimeoutMs?: number;
  /** The error id and message used when the connecting timeout fires. */
  readonly connectingTimeoutError?: { readonly errorId: string; readonly message: string };
  /** Error id when the stream ends before the session was closed (SSH: SSHAbruptlyTerminated). */
  readonly abruptEndErrorId?: string;
  /**
   * Lets the transport name an early end precisely (no PowerShell in a container, a missing subsystem): given
   * what the server wrote on its error stream, return the error to report, or undefined for the generic one.
   */
  readonly explainEnd?: (
    stderrText: string,
    sawPacket: boolean,
  ) => Promise<PSRemotingError | undefined> | PSRemotingError | undefined;
  /** How long close() waits for the server's CloseAck before it disposes the stream anyway. */
  readonly closeTimeoutMs?: number;
  /** How long stop/pipeline-close wait for SignalAck/CloseAck (PowerShell: 60 s); 0: no bound (CancelTimeout 0). */
  readonly ackTimeoutMs?: number;
  /** Fragment size; OutOfProc uses 32 KiB (RemoteSessionNamedPipe.cs). */
  readonly maxFragmentSize?: number;
  /** Queued server payloads above which the input stream is paused. */
  readonly receiveHighWaterMark?: number;
  /**
   * The session's MaximumReceivedObjectSize (TransportContext.options; null: none). A Data line longer than one
   * fragment of that size can be is refused as soon as it is that long (ReceivedObjectSizeExceededMaximumClient):
   * a fragment that trickles in is never held past the limit, and never past the splitter's line cap
   * (DEFAULT_MAX_LINE_LENGTH, 16 MiB) in any case; a line past that cap when the limit is higher (or null) is a
   * protocol error (PsrpMalformedPacket), not an object over the limit.
   */
  readonly maxReceivedObjectSize?: number | null;
}

/** `<Data Stream='PromptResponse' PSGuid='<36>'>` and `</Data>`, with room to spare. */
const DATA_PACKET_OVERHEAD = 256;

type AckKind = 'DataAck' | 'CommandAck' | 'SignalAck' | 'CloseAck';

/**
 * Turns a duplex byte stream to a PowerShell server in OutOfProc mode into a TransportConnection
 * (protocols.md 3.1-3.2; PowerShell OutOfProcTransportManager.cs). One packet per line. Data is lock-step per
 * PSGuid: the next Data for a guid waits for the DataAck of the previous one.
 */
export function createOutOfProcConnection(
  stream: OutOfProcStream,
  options: OutOfProcConnectionOptions = {},
): TransportConnection {
  return new OutOfProcConnection(stream, options);
}

class OutOfProcConnection implements TransportConnection {
  readonly maxFragmentSize: number;
  private readonly log: Logger;
  private readonly queue: AsyncQueue<PsrpPayload>;
  private readonly splitter: PacketLineSplitter;
  /** Set when the object limit caps lines below the splitter's own cap: a too-long line is that limit. */
  private readonly lineLimitObject: number | undefined;
  /** Waiters for acknowledgements, by kind then guid, in send order. */
  private readonly acks = new Map<string, Deferred<void>[]>();
  /** The tail of each guid's Data chain (lock-step). */
  private readonly dataChains = new Map<string, Promise<void>>();
  private readonly stderrText: string[] = [];
  private stderrBytes = 0;
  private state: OutOfProcConnectionState = 'Open';
  /** Why the connection failed (set as it enters Failed). */
  private failure: PSRemotingError | undefined;
  private readonly closedDeferred = deferred<void>();
  private connectTimer: NodeJS.Timeout | undefined;
  private sawPacket = false;

  private readonly stream: OutOfProcStream;
  private readonly options: OutOfProcConnectionOptions;

  constructor(stream: OutOfProcStream, options: OutOfProcConnectionOptions) {
    this.stream = stream;
    this.options = options;
    this.maxFragmentSize = options.maxFragmentSize ?? 32_768;
    const limit = options.maxReceivedObjectSize;
    // Base64 of one fragment (21-byte header + blob up to the limit) inside its Data packet.
    const lineForLimit =
      limit === undefined || limit === null
        ? undefined
        : Math.ceil((Math.max(0, limit) + 21) / 3) * 4 + DATA_PACKET_OVERHEAD;
    // The line cap is the object limit's line when that is the smaller, else the splitter's own cap; a too-long
    // line is reported as what set the cap.
    const fromLimit = lineForLimit !== undefined && lineForLimit <= DEFAULT_MAX_LINE_LENGTH;
    this.lineLimitObject = fromLimit ? (limit as number) : undefined;
    this.splitter = new PacketLineSplitter({
      maxLineLength: fromLimit ? (lineForLimit as number) : DEFAULT_MAX_LINE_LENGTH,
    });
    this.log = options.log ?? silentLogger;
    this.queue = new AsyncQueue<PsrpPayload>(options.receiveHighWaterMark ?? 256, (pressured) => {
      if (pressured) stream.input.pause();
      else stream.input.resume();
    });

    stream.input.on('data', (chunk: Buffer) => this.onInput(chunk));
    stream.input.on('end', () => this.onEnd());
    stream.input.on('close', () => this.onEnd());
    stream.input.on('error', (e: Error) =>
      this.fail(this.transportError(`reading from ${stream.description} failed: ${e.message}`, e)),
    );
    stream.output.on('error', (e: Error) =>
      this.fail(this.transportError(`writing to ${stream.description} failed: ${e.message}`, e)),
    );
    stream.errors?.on('data', (chunk: Buffer | string) => this.onStderr(chunk));

    if (options.connectingTimeoutMs !== undefined && options.connectingTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        if (this.sawPacket) return;
        const spec = options.connectingTimeoutError ?? {
          errorId: 'PSRemotingConnectTimeout',
          message: `The connection to ${stream.description} timed out after ${options.connectingTimeoutMs} ms without an answer from PowerShell.`,
        };
        this.fail(
          new PSRemotingError(spec.message, {
            errorId: spec.errorId,
            category: 'OperationTimeout',
            targetObject: stream.description,
          }),
        );
      }, options.connectingTimeoutMs);
      this.connectTimer.unref?.();
    }
    if (options.signal) {
      const onAbort = () =>
        this.fail(
          new PSRemotingError(`The connection to ${stream.description} was cancelled.`, {
            errorId: 'OperationStopped',
            category: 'OperationStopped',
            cause: options.signal?.reason,
          }),
        );
      if (options.signal.aborted) queueMicrotask(onAbort);
      else options.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  // ---- incoming ---------------------------------------------------------------------------------------

  private onInput(chunk: Buffer): void {
    if (this.finished) return;
    let lines: string[];
    try {
      lines = this.splitter.push(chunk);
    } catch (e) {
      // The splitter only ever refuses a line that is too long.
      this.fail(
        this.lineLimitObject === undefined
          ? this.protocolError(e)
          : objectSizeExceededError(this.stream.description, this.lineLimitObject, e),
      );
      return;
    }
    for (const line of lines) {
      if (this.finished) return;
      this.onLine(line);
    }
  }

  private onLine(rawLine: string): void {
    const line = rawLine.trim();
    if (line.length === 0) return;
    const prefix = this.stream.errorLinePrefix;
    if (prefix && line.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()) {
      // OutOfProcServerMediator: the server reports a fatal error on its output stream. The prefix is matched
      // ignoring case, as OutOfProcTransportManager matches HyperVSocketErrorTextWriter.ErrorPrepend.
      const text = line.slice(prefix.length).trim();
      this.fail(
        new PSRemotingError(
          `The PowerShell server at ${this.stream.description} reported an error: ${text}`,
          {
            errorId: 'IPCServerProcessReportedError',
            category: 'OpenError',
            targetObject: this.stream.description,
          },
        ),
      );
      return;
    }
    if (!line.startsWith('<')) {
      // Not a packet: a banner or stray output. PowerShell's reader fails on it; we report it and go on only
      // when nothing has been exchanged yet (login banners, shell noise before the subsystem starts).
      if (!this.sawPacket) {
        this.log.warn(`${this.stream.description}: ${line}`);
        return;
      }
      this.fail(
        this.protocolError(
          new PsrpProtocolError(
            'PsrpMalformedPacket',
            `unexpected line from the server: ${line.slice(0, 200)}`,
            { remote: true },
          ),
        ),
      );
      return;
    }
    let packet: OutOfProcPacket;
    try {
      packet = decodePacket(line);
    } catch (e) {
      this.fail(this.protocolError(e));
      return;
    }
    this.sawPacket = true;
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    switch (packet.kind) {
      case 'Data':
        this.queue.push({
          pipelineId: packet.psGuid === EMPTY_GUID ? null : packet.psGuid,
          stream: packet.stream,
          data: packet.data,
        });
        break;
      case 'DataAck':
      case 'CommandAck':
      case 'SignalAck':
      case 'CloseAck':
        this.settleAck(packet.kind, packet.psGuid);
        if (packet.kind === 'CloseAck' && packet.psGuid === EMPTY_GUID) this.apply('finish');
        break;
      default:
        // protocols.md 3.2: the server never sends Command, Signal or Close.
        this.fail(
          this.protocolError(
            new PsrpProtocolError(
              'PsrpMalformedPacket',
              `the server sent a ${packet.kind} packet, which only a client sends`,
              {
                remote: true,
              },
            ),
          ),
        );
    }
  }

  private onStderr(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    // Keep a bounded tail for the error message.
    if (this.stderrBytes < 64 * 1024) {
      this.stderrText.push(text);
      this.stderrBytes += text.length;
    }
    for (const l of text.split(/\r?\n/))
      if (l.trim()) this.log.warn(`${this.stream.description} stderr: ${l}`);
  }

  private onEnd(): void {
    // Closing: the end we asked for (Closed). Open: an end nobody asked for (Ending), explained below.
    if (!this.apply('inputEnded') || this.state !== 'Ending') return;
    // The server's last words are on its error stream, which is not ordered with the data stream: wait for it to
    // end (a missing subsystem, no PowerShell in a container), at most a moment, before saying what happened.
    this.afterErrorStream(() => {
      const stderr = this.stderrText.join('').trim();
      const detail = stderr ? ` The server wrote: ${stderr.slice(-2000)}` : '';
      const generic = new PSRemotingError(
        `The connection to ${this.stream.description} ended unexpectedly.${detail}`,
        {
          errorId: this.options.abruptEndErrorId ?? 'PSRemotingTransportAbruptlyTerminated',
          category: 'ConnectionError',
          targetObject: this.stream.description,
        },
      );
      const explain = this.options.explainEnd;
      if (!explain) {
        this.fail(generic, true);
        return;
      }
      Promise.resolve(explain(this.stderrText.join(''), this.sawPacket))
        .catch(() => undefined)
        .then((specific) => this.fail(specific ?? generic, true));
    });
  }

  private afterErrorStream(then: () => void): void {
    const errors = this.stream.errors;
    if (!errors || errors.readableEnded || errors.destroyed) {
      setImmediate(then);
      return;
    }
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      errors.off('end', go);
      errors.off('close', go);
      // 'end' can come before the last 'data' listener ran for a chunk pushed in the same tick.
      setImmediate(then);
    };
    const timer = setTimeout(go, 100);
    errors.once('end', go);
    errors.once('close', go);
  }

  // ---- acks -------------------------------------------------------------------------------------------

  private ackKey(kind: AckKind, guid: string): string {
    return `${kind}:${guid}`;
  }

  private expectAck(kind: AckKind, guid: string): Deferred<void> {
    const d = deferred<void>();
    // After the end (a failure or a clean close) no ack can come: the waiter is told at once, never left hanging.
    if (this.finished) {
      d.reject(this.closedError());
      return d;
    }
    const key = this.ackKey(kind, guid);
    const list = this.acks.get(key);
    if (list) list.push(d);
    else this.acks.set(key, [d]);
    return d;
  }

  private settleAck(kind: AckKind, guid: string): void {
    const key = this.ackKey(kind, guid);
    const list = this.acks.get(key);
    const d = list?.shift();
    if (list && list.length === 0) this.acks.delete(key);
    if (d) d.resolve();
    else this.log.debug(`unexpected ${kind} for ${guid}`);
  }

  private async withTimeout(d: Deferred<void>, ms: number, what: string): Promise<void> {
    if (ms <= 0) return d.promise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PSRemotingError(
              `${this.stream.description} did not acknowledge ${what} within ${ms / 1000} s.`,
              {
                errorId: 'PSRemotingAckTimeout',
                category: 'OperationTimeout',
              },
            ),
          ),
        ms,
      );
      timer.unref?.();
    });
    try {
      await Promise.race([d.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- outgoing ---------------------------------------------------------------------------------------

  private async writeLine(packet: OutOfProcPacket): Promise<void> {
    if (this.finished) throw this.closedError();
    const out = this.stream.output;
    const ok = out.write(`${encodePacket(packet)}\n`);
    if (!ok) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          out.off('error', onError);
          resolve();
        };
        const onError = (e: Error) => {
          out.off('drain', onDrain);
          reject(e);
        };
        out.once('drain', onDrain);
        out.once('error', onError);
      });
    }
  }

  /** The opening fragments go as the first Data packets of the pool, one fragment each (as PowerShell's client). */
  async open(request: OpenRequest): Promise<void> {
    const sent = splitFragments(request.data).map((data) =>
      this.send({ pipelineId: null, stream: 'Default', data }),
    );
    await Promise.all(sent);
  }

  /**
   * One Data packet, lock-step per PSGuid: the next waits for the DataAck of the previous one. No `maxPayloadSize`
   * is declared, so the kernel sends one fragment at a time, as PowerShell's OutOfProc client does.
   */
  send(payload: PsrpPayload): Promise<void> {
    const guid = payload.pipelineId ?? EMPTY_GUID;
    const prev = this.dataChains.get(guid) ?? Promise.resolve();
    const next = prev.then(async () => {
      const ack = this.expectAck('DataAck', guid);
      await this.writeLine({ kind: 'Data', stream: payload.stream, psGuid: guid, data: payload.data });
      await ack.promise;
    });
    // The chain continues after a failure of one send; the failure itself goes to this caller.
    this.dataChains.set(
      guid,
      next.catch(() => {}),
    );
    return next;
  }

  async createPipeline(pipelineId: string, first: PsrpPayload): Promise<void> {
    const ack = this.expectAck('CommandAck', pipelineId);
    await this.writeLine({ kind: 'Command', psGuid: pipelineId });
    await ack.promise;
    await this.send(first);
  }

  async stopPipeline(pipelineId: string): Promise<void> {
    const ack = this.expectAck('SignalAck', pipelineId);
    await this.writeLine({ kind: 'Signal', psGuid: pipelineId });
    await this.withTimeout(ack, this.options.ackTimeoutMs ?? 60_000, 'the stop signal');
  }

  async closePipeline(pipelineId: string): Promise<void> {
    if (isGoingDown(this.state)) return;
    const ack = this.expectAck('CloseAck', pipelineId);
    await this.writeLine({ kind: 'Close', psGuid: pipelineId });
    await this.withTimeout(ack, this.options.ackTimeoutMs ?? 60_000, 'closing the pipeline');
    this.dataChains.delete(pipelineId);
  }

  receive(): AsyncIterable<PsrpPayload> {
    return this.queue;
  }

  async close(): Promise<void> {
    if (this.finished) return;
    // A second close() while the first waits for the CloseAck does not wait again: it finishes at once.
    if (this.apply('close')) {
      try {
        const ack = this.expectAck('CloseAck', EMPTY_GUID);
        await this.writeLine({ kind: 'Close', psGuid: EMPTY_GUID });
        await this.withTimeout(ack, this.options.closeTimeoutMs ?? 10_000, 'closing the session');
      } catch (e) {
        this.log.debug(`close: ${(e as Error).message}`);
      }
    }
    this.apply('finish');
    await this.closedDeferred.promise;
  }

  abort(reason: PSRemotingError): void {
    // At once, even while an abrupt end waits for the server's last words.
    this.fail(reason, true);
  }

  // ---- ending -----------------------------------------------------------------------------------------

  /** Why nothing more can be sent or acknowledged: the failure, or a clean close. */
  private closedError(): PSRemotingError {
    return (
      this.failure ??
      new PSRemotingError(`The connection to ${this.stream.description} is closed.`, {
        errorId: 'PSRemotingTransportClosed',
        category: 'ConnectionError',
      })
    );
  }

  private get finished(): boolean {
    return isConnectionFinished(this.state);
  }

  /** The only place the state changes (connection-states.ts); false when `action` changes nothing now. */
  private apply(action: OutOfProcConnectionAction): boolean {
    const next = connectionTransition(this.state, action);
    if (next === undefined) return false;
    this.state = next;
    if (isConnectionFinished(next)) this.finish();
    return true;
  }

  /** Entering a final state: every waiter told, the receive iteration ended, the stream disposed. */
  private finish(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    const err = this.closedError();
    for (const list of this.acks.values()) for (const d of list) d.reject(err);
    this.acks.clear();
    if (this.failure) this.queue.fail(this.failure);
    else this.queue.end();
    this.stream.input.resume();
    this.stream
      .dispose()
      .catch((e: unknown) => this.log.debug(`dispose: ${(e as Error).message}`))
      .finally(() => this.closedDeferred.resolve());
  }

  /** `fromEnd`: the explained abrupt end or abort(), which report even while an unasked end waits ('fail'). */
  private fail(error: PSRemotingError, fromEnd = false): void {
    if (connectionTransition(this.state, fromEnd ? 'fail' : 'error') === undefined) return;
    this.failure = error;
    this.apply(fromEnd ? 'fail' : 'error');
  }

  private transportError(message: string, cause: unknown): PSRemotingError {
    return new PSRemotingError(message, {
      errorId: this.options.abruptEndErrorId ?? 'PSRemotingTransportAbruptlyTerminated',
      category: 'ConnectionError',
      targetObject: this.stream.description,
      cause,
    });
  }

  private protocolError(e: unknown): PSRemotingError {
    const inner = e instanceof PsrpProtocolError ? e : undefined;
    return new PSRemotingError(
      `The PowerShell server at ${this.stream.description} broke the OutOfProc protocol: ${(e as Error).message}`,
      { errorId: inner?.errorId ?? 'PsrpMalformedPacket', category: 'ProtocolError', cause: e },
    );
  }
}
