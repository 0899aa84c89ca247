import type { ClientRunspacePool, OutgoingPayload } from '@psremote/psrp';
import type { Logger, PsrpPayload, TransportConnection } from '../transport/contract.ts';
import { type Deferred, deferred } from '../util/deferred.ts';

/** What the pump tells the session: the only way back from the loops. */
export interface PumpHandlers {
  /** After each payload the engine took: apply the events it produced. */
  readonly drainEvents: () => void;
  /** Whether a slow consumer wants the receive loop to wait (backpressure); `resumeReceiving` ends the wait. */
  readonly shouldPause: () => boolean;
  /** The receive iteration finished cleanly (we closed the connection). */
  readonly ended: () => void;
  /** The receive iteration failed: the transport's reason. */
  readonly failed: (error: unknown) => void;
}

/**
 * The session pump (ARCHITECTURE.md "one loop"): the only code that holds both the runspace pool and the transport
 * connection. It opens the pool on the transport, receives payloads into the engine, and sends what the engine
 * queued, packed up to the transport's `maxPayloadSize`. Each pipeline has a gate that opens once its
 * createPipeline returned.
 */
export class SessionPump {
  private readonly pool: ClientRunspacePool;
  private readonly conn: TransportConnection;
  private readonly log: Logger;
  private readonly handlers: PumpHandlers;
  private sending = false;
  private sendAgain = false;
  /** Resolves once the transport took the opening messages; nothing else is sent before. */
  private transportOpened: Promise<void> = Promise.resolve();
  private transportReady = false;
  /** A fragment taken from the pool that did not fit the last packed send: the next send starts with it. */
  private heldOutgoing: OutgoingPayload | undefined;
  /**
   * Settled once each pipeline's createPipeline returned: a stop or close waits for it, so a transport never gets
   * a Signal for a command it has not created yet (Ctrl+C right after Enter; WinRM would fault on the CommandId).
   */
  private readonly pipelineCreated = new Map<string, Deferred<void>>();
  private resumeReceive: (() => void) | undefined;

  constructor(pool: ClientRunspacePool, conn: TransportConnection, log: Logger, handlers: PumpHandlers) {
    this.pool = pool;
    this.conn = conn;
    this.log = log;
    this.handlers = handlers;
  }

  /**
   * Opens the pool on the transport and starts receiving. Resolves when the transport took the opening messages;
   * rejects when it refused them.
   */
  start(): Promise<void> {
    this.pool.open();
    // The opening messages are all the pool has queued: they go with the transport's open step (WinRM's Create).
    const opening: Uint8Array[] = [];
    for (let out = this.pool.dataToSend(); out; out = this.pool.dataToSend()) opening.push(out.data);
    const transportOpened = this.conn.open({
      runspacePoolId: this.pool.runspacePoolId,
      data: Buffer.concat(opening),
    });
    void this.receiveLoop();
    this.transportOpened = transportOpened.then(() => {
      this.transportReady = true;
    });
    // Failing here is the open failing; the caller handles it (and the receive loop's end).
    this.transportOpened.catch(() => {});
    return this.transportOpened;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const payload of this.conn.receive()) {
        this.pool.receiveData(payload.pipelineId, payload.data);
        this.handlers.drainEvents();
        this.kickSend();
        if (this.handlers.shouldPause()) {
          await new Promise<void>((resolve) => {
            this.resumeReceive = resolve;
          });
        }
      }
      this.handlers.ended();
    } catch (e) {
      this.handlers.failed(e);
    }
  }

  /** Ends a backpressure wait of the receive loop. */
  resumeReceiving(): void {
    const r = this.resumeReceive;
    this.resumeReceive = undefined;
    r?.();
  }

  /** Sends what the engine queued (now, or after the send in progress). */
  kickSend(): void {
    if (this.sending) {
      this.sendAgain = true;
      return;
    }
    this.sending = true;
    void this.sendLoop();
  }

  private async sendLoop(): Promise<void> {
    try {
      if (!this.transportReady) await this.transportOpened;
      do {
        this.sendAgain = false;
        for (let out = this.nextOutgoing(); out; out = this.nextOutgoing()) {
          if (out.createsPipeline && out.pipelineId) {
            const id = out.pipelineId;
            try {
              await this.conn.createPipeline(id, { pipelineId: id, stream: out.stream, data: out.data });
            } finally {
              this.pipelineCreated.get(id)?.resolve();
            }
          } else await this.conn.send(this.pack(out));
        }
      } while (this.sendAgain);
    } catch (e) {
      // The receive loop sees the same failure and breaks the session; log the send side only.
      this.log.debug(`send failed: ${(e as Error).message}`);
    } finally {
      this.sending = false;
    }
  }

  private nextOutgoing(): OutgoingPayload | undefined {
    const held = this.heldOutgoing;
    this.heldOutgoing = undefined;
    return held ?? this.pool.dataToSend();
  }

  /**
   * `first` and the fragments queued after it for the same target and stream, up to the transport's payload size
   * (WinRM packs a Send full; OutOfProc takes one fragment a packet). The first fragment that does not belong is
   * held for the next send, so the order of everything stays as queued.
   */
  private pack(first: OutgoingPayload): PsrpPayload {
    const budget = this.conn.maxPayloadSize ?? 0;
    const parts = [first.data];
    let size = first.data.length;
    while (size < budget) {
      const next = this.pool.dataToSend();
      if (!next) break;
      if (
        next.createsPipeline ||
        next.pipelineId !== first.pipelineId ||
        next.stream !== first.stream ||
        size + next.data.length > budget
      ) {
        this.heldOutgoing = next;
        break;
      }
      parts.push(next.data);
      size += next.data.length;
    }
    return {
      pipelineId: first.pipelineId,
      stream: first.stream,
      data: parts.length === 1 ? first.data : Buffer.concat(parts, size),
    };
  }

  // ---- pipeline gates -------------------------------------------------------------------------------

  /** A new pipeline: its stop and close wait until its createPipeline returned. */
  addPipeline(pipelineId: string): void {
    this.pipelineCreated.set(pipelineId, deferred<void>());
  }

  /**
   * The pipeline ended: its gate goes once it is open. A pipeline can end before its createPipeline returned
   * (its output and state come in before the last acknowledgement is taken): the gate then stays until that
   * return opens it, or a close waiting behind it would wait forever.
   */
  removePipeline(pipelineId: string): void {
    const gate = this.pipelineCreated.get(pipelineId);
    if (!gate) return;
    void gate.promise.then(() => {
      if (this.pipelineCreated.get(pipelineId) === gate) this.pipelineCreated.delete(pipelineId);
    });
  }

  /** Runs `then` once the pipeline's createPipeline returned (at once for one the pump does not know). */
  afterCreated<T>(pipelineId: string, then: () => Promise<T>): Promise<T> {
    const gate = this.pipelineCreated.get(pipelineId);
    return gate ? gate.promise.then(then) : then();
  }

  /** No createPipeline comes any more (the session ended): a stop or close waiting for one goes on. */
  openAllGates(): void {
    for (const gate of this.pipelineCreated.values()) gate.resolve();
  }
}
