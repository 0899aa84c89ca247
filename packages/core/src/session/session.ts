import {
  ClientRunspacePool,
  type ErrorRecordInfo,
  type HostCall,
  type HostDefaultData,
  type OutgoingPayload,
  type PipelineSpec,
  PSObject,
  type PSValue,
  type PsrpEvent,
  type RunspacePoolState,
} from '@psremote/psrp';
import { isPSRemotingError, PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import { type ResolvedSessionOptions, resolveSessionOptions } from '../parameters/session-option.ts';
import type { BoundParameters } from '../parameters/types.ts';
import {
  type Logger,
  type PsrpPayload,
  silentLogger,
  type TransportConnection,
  type TransportPlugin,
  type TransportTarget,
} from '../transport/contract.ts';
import { deferred } from '../util/deferred.ts';
import { PausableDeadline } from '../util/pausable-deadline.ts';
import { dispatchHostCall, type HostCallOutcome } from './host-dispatch.ts';
import { Invocation } from './invocation.ts';
import {
  interruptedAgainError,
  openCancelled,
  openTimeoutError,
  poolCallStopped,
  poolCallTimedOut,
  receiveLimitError,
  STOP_ANSWER_TIMEOUT_MS,
  stopNotAnsweredError,
  stopTimedOutError,
} from './limits.ts';
import { poolLimitOptions } from './pool-limits.ts';
import {
  defaultSessionTable,
  type SessionAvailability,
  type SessionInfo,
  type SessionState,
  type SessionTable,
} from './session-table.ts';

export interface OpenSessionOptions {
  readonly transport: TransportPlugin;
  /** The bound Enter-PSSession parameters (from the binder), or a target the transport already resolved. */
  readonly bound?: BoundParameters;
  readonly target?: TransportTarget;
  readonly hostUi: HostUi;
  /** Cancels opening (Ctrl+C while connecting). Not used after the session is open. */
  readonly signal?: AbortSignal;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: Logger;
  readonly name?: string;
  readonly table?: SessionTable;
  /**
   * Timeouts and receive limits (PSSessionOption). Default: resolved from the bound -SessionOption, else
   * DEFAULT_SESSION_OPTIONS. Lent to the transport (TransportContext.options) and applied to the runspace pool.
   */
  readonly sessionOptions?: ResolvedSessionOptions;
  /** Overrides sessionOptions.openTimeoutMs: the bound on the whole open (transport connect and pool open). */
  readonly openTimeoutMs?: number;
}

export interface InvokeOptions {
  /** Input objects for the pipeline (sent, then end of input). */
  readonly input?: readonly PSValue[];
  /** Host calls of this pipeline go here; default: the session's HostUi. */
  readonly hostUi?: HostUi;
  /** Aborting stops the pipeline. */
  readonly signal?: AbortSignal;
}

/** Builds the HostInfo cache the server answers RawUI getters from (protocols.md 1.4). */
export function hostDefaultDataFrom(hostUi: HostUi): HostDefaultData | null {
  const raw = hostUi.rawUi;
  if (!raw) return null;
  return {
    foregroundColor: raw.foregroundColor,
    backgroundColor: raw.backgroundColor,
    cursorPosition: raw.cursorPosition,
    windowPosition: raw.windowPosition,
    cursorSize: raw.cursorSize,
    bufferSize: raw.bufferSize,
    windowSize: raw.windowSize,
    maxWindowSize: raw.maxWindowSize,
    maxPhysicalWindowSize: raw.maxPhysicalWindowSize,
    windowTitle: raw.windowTitle,
  };
}

/**
 * An open PSRP session: a runspace pool on a transport connection, with the pump that moves payloads between
 * them (the only code that holds both). Listed in a session table.
 */
export class PSSession {
  readonly id: number;
  readonly name: string;
  readonly instanceId: string;
  readonly computerName: string;
  readonly transportName: string;
  readonly target: TransportTarget;
  readonly hostUi: HostUi;
  private _state: SessionState = 'Opening';
  private brokenReason: PSRemotingError | undefined;
  private readonly pool: ClientRunspacePool;
  private readonly conn: TransportConnection;
  private readonly log: Logger;
  private readonly invocations = new Map<string, Invocation>();
  private readonly opened = deferred<void>();
  private readonly ended = deferred<void>();
  private sending = false;
  private sendAgain = false;
  /** Resolves once the transport took the opening messages; nothing else is sent before. */
  private transportOpened: Promise<void> = Promise.resolve();
  /** A fragment taken from the pool that did not fit the last packed send: the next send starts with it. */
  private heldOutgoing: OutgoingPayload | undefined;
  private transportReady = false;
  /**
   * Settled once each pipeline's createPipeline returned: a stop or close waits for it, so a transport never gets
   * a Signal for a command it has not created yet (Ctrl+C right after Enter; WinRM would fault on the CommandId).
   */
  private readonly pipelineCreated = new Map<string, ReturnType<typeof deferred<void>>>();
  private resumeReceive: (() => void) | undefined;
  private readonly stateListeners = new Set<(s: SessionState, reason?: PSRemotingError) => void>();
  private exitListeners = new Set<(code: number) => void>();
  private readonly table: SessionTable;
  private readonly poolCalls = new Map<bigint, ReturnType<typeof deferred<PSValue>>>();
  private readonly endedSignal = new AbortController();
  /** The HostUi for pool-level host calls while the pool opens (its prompts stop the OpenTimeout clock). */
  private readonly openingHostUi: HostUi | undefined;
  /** The timeouts and receive limits this session runs with. */
  readonly options: ResolvedSessionOptions;

  /** @internal use openSession */
  constructor(init: {
    id: number;
    name: string;
    target: TransportTarget;
    transportName: string;
    hostUi: HostUi;
    conn: TransportConnection;
    log: Logger;
    table: SessionTable;
    options?: ResolvedSessionOptions;
    /** Answers the pool's host calls until the pool is opened (openSession: the OpenTimeout-pausing HostUi). */
    openingHostUi?: HostUi;
  }) {
    this.id = init.id;
    this.name = init.name;
    this.target = init.target;
    this.computerName = init.target.computerName;
    this.transportName = init.transportName;
    this.hostUi = init.hostUi;
    this.openingHostUi = init.openingHostUi;
    this.conn = init.conn;
    this.log = init.log;
    this.table = init.table;
    this.options = init.options ?? resolveSessionOptions(undefined);
    this.pool = new ClientRunspacePool({
      host: hostDefaultDataFrom(init.hostUi),
      maxFragmentSize: init.conn.maxFragmentSize,
      ...poolLimitOptions(this.options),
    });
    this.instanceId = this.pool.runspacePoolId;
  }

  get state(): SessionState {
    return this._state;
  }

  get availability(): SessionAvailability {
    if (this._state !== 'Opened') return 'None';
    for (const inv of this.invocations.values()) if (!inv.pipeline || inv.state === 'Running') return 'Busy';
    return 'Available';
  }

  get info(): SessionInfo {
    return {
      id: this.id,
      name: this.name,
      instanceId: this.instanceId,
      computerName: this.computerName,
      transport: this.transportName,
      state: this._state,
      availability: this.availability,
    };
  }

  /** The reason the session broke, when it is Broken. */
  get reason(): PSRemotingError | undefined {
    return this.brokenReason;
  }

  /** The negotiated PSRP protocol version. */
  get protocolVersion(): string | undefined {
    return this.pool.negotiatedProtocolVersion;
  }

  /** The server's APPLICATION_PRIVATE_DATA (PSVersionTable and friends). */
  get applicationPrivateData(): PSValue | undefined {
    return this.pool.applicationPrivateData;
  }

  /** Resolves when the session is Closed or Broken. */
  get whenEnded(): Promise<void> {
    return this.ended.promise;
  }

  onStateChange(listener: (s: SessionState, reason?: PSRemotingError) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** The remote side asked the host to exit (Exit-PSSession's PopRunspace, or SetShouldExit). */
  onExitRequested(listener: (code: number) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  private setState(s: SessionState, reason?: PSRemotingError): void {
    if (this._state === s) return;
    if (this._state === 'Closed' || this._state === 'Broken') return;
    this._state = s;
    if (s === 'Broken') this.brokenReason = reason;
    for (const l of this.stateListeners) l(s, reason);
    if (s === 'Broken' || s === 'Closed') {
      // No createPipeline comes any more: a stop or close waiting for one goes on (and fails on the ended transport).
      for (const gate of this.pipelineCreated.values()) gate.resolve();
      this.ended.resolve();
      this.endedSignal.abort(reason);
    }
  }

  // ---- opening ----------------------------------------------------------------------------------------

  /** @internal `stop` rejects when OpenTimeout expires or the open is cancelled (Ctrl+C), with the error to give. */
  async start(stop: Promise<never>): Promise<void> {
    this.table.add(this);
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
    // Failing here is the open failing; it is handled by the race below (and by the receive loop's end).
    this.transportOpened.catch(() => {});
    try {
      await Promise.race([this.opened.promise, this.transportOpened.then(() => this.opened.promise), stop]);
    } catch (e) {
      await this.abandon(e);
      throw e;
    }
  }

  private async abandon(e: unknown): Promise<void> {
    this.fail(asRemotingError(e, this.computerName));
    await this.conn.close().catch(() => {});
  }

  // ---- the pump ---------------------------------------------------------------------------------------

  private async receiveLoop(): Promise<void> {
    try {
      for await (const payload of this.conn.receive()) {
        this.pool.receiveData(payload.pipelineId, payload.data);
        this.drainEvents();
        this.kickSend();
        if (this.shouldPause()) {
          await new Promise<void>((resolve) => {
            this.resumeReceive = resolve;
          });
        }
      }
      // A clean end: we closed it.
      this.pool.transportClosed();
      this.drainEvents();
      this.endInvocations(
        new PSRemotingError(`The session to ${this.computerName} is closed.`, {
          errorId: 'PSSessionClosed',
          category: 'ResourceUnavailable',
        }),
      );
      this.setState('Closed');
    } catch (e) {
      const err = asRemotingError(e, this.computerName);
      // Break with the transport's reason first; the pool's own Broken event then changes nothing.
      this.fail(err);
      this.pool.transportFailed(err);
      this.drainEvents();
    }
  }

  private shouldPause(): boolean {
    for (const inv of this.invocations.values()) if (inv.wantsPause) return true;
    return false;
  }

  private resumeReceiving(): void {
    const r = this.resumeReceive;
    this.resumeReceive = undefined;
    r?.();
  }

  private kickSend(): void {
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

  private afterCreated<T>(pipelineId: string, then: () => Promise<T>): Promise<T> {
    const gate = this.pipelineCreated.get(pipelineId);
    return gate ? gate.promise.then(then) : then();
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

  private drainEvents(): void {
    for (let ev = this.pool.nextEvent(); ev; ev = this.pool.nextEvent()) this.onEvent(ev);
  }

  private onEvent(ev: PsrpEvent): void {
    switch (ev.type) {
      case 'RunspacePoolStateChanged':
        this.onPoolState(ev.state, ev.reason);
        break;
      case 'PipelineOutput':
        this.invocations.get(ev.pipelineId)?.deliver({ kind: 'output', value: ev.value });
        break;
      case 'ErrorRecord':
        this.invocations.get(ev.pipelineId)?.deliver({ kind: 'error', record: ev.record });
        break;
      case 'InformationalRecord': {
        const kind = ev.stream === 'Warning' ? 'warning' : ev.stream === 'Verbose' ? 'verbose' : 'debug';
        this.invocations.get(ev.pipelineId)?.deliver({ kind, message: ev.message });
        break;
      }
      case 'InformationRecord':
        this.invocations.get(ev.pipelineId)?.deliver({ kind: 'information', record: ev.record });
        break;
      case 'ProgressRecord':
        this.invocations.get(ev.pipelineId)?.deliver({ kind: 'progress', record: ev.record });
        break;
      case 'PipelineStateChanged':
        this.onPipelineState(ev.pipelineId, ev.state, ev.reason);
        break;
      case 'HostCall':
        this.onHostCall(ev.pipelineId, ev.call);
        break;
      case 'RunspaceAvailability':
        if (ev.callId !== undefined) {
          const w = this.poolCalls.get(ev.callId);
          this.poolCalls.delete(ev.callId);
          w?.resolve(ev.value);
        }
        break;
      case 'PipelineReceiveLimitExceeded':
        // MaximumReceivedDataSizePerCommand: the engine fails the pipeline (its PipelineStateChanged follows) and
        // drops its data; the server is told to stop producing it.
        this.log.debug(
          `pipeline ${ev.pipelineId}: ${ev.received} bytes over the per-command limit ${ev.limit}`,
        );
        void this.afterCreated(ev.pipelineId, () => this.conn.stopPipeline(ev.pipelineId)).catch(() => {});
        break;
      case 'ProtocolError': {
        // The engine reports a ProtocolError only with the pool failed: it breaks the session. (The per-command
        // limit, MaximumReceivedDataSizePerCommand, is PipelineReceiveLimitExceeded above: the pool stays open.)
        const limit = receiveLimitError(ev.error, this.computerName);
        if (limit) {
          // Over a receive limit: stop reading now (the rest of the object is not wanted), no goodbye.
          this.terminate(limit);
          break;
        }
        this.fail(
          new PSRemotingError(`The server broke the PowerShell remoting protocol: ${ev.error.message}`, {
            errorId: ev.error.errorId,
            category: 'ProtocolError',
            targetObject: this.computerName,
            cause: ev.error,
          }),
        );
        void this.conn.close().catch(() => {});
        break;
      }
      default:
        break;
    }
  }

  private onPoolState(state: RunspacePoolState, reason: ErrorRecordInfo | undefined): void {
    if (state === 'Opened') {
      this.setState('Opened');
      this.opened.resolve();
    } else if (state === 'Broken' || (state === 'Closed' && this._state === 'Opening')) {
      const opening = this._state === 'Opening';
      const err = new PSRemotingError(
        reason?.message ??
          (opening
            ? `The remote runspace pool on ${this.computerName} could not be opened.`
            : `The session to ${this.computerName} broke: the server ended the runspace pool.`),
        {
          errorId: opening ? 'CreateRemoteRunspaceFailed' : 'RemoteRunspacePoolBroken',
          category: opening ? 'OpenError' : 'ConnectionError',
          targetObject: this.computerName,
        },
      );
      this.fail(err);
    }
  }

  private onPipelineState(id: string, state: string, reason: ErrorRecordInfo | undefined): void {
    const inv = this.invocations.get(id);
    if (!inv) return;
    if (state === 'Completed' || state === 'Stopped' || state === 'Failed') {
      this.invocations.delete(id);
      inv.finish(state, reason);
      // Release the pipeline on the transport (OutOfProc Close); nobody waits for it.
      if (this._state === 'Opened')
        void this.afterCreated(id, () => this.conn.closePipeline(id)).catch(() => {});
      this.pipelineCreated.delete(id);
    }
  }

  private onHostCall(pipelineId: string | null, call: HostCall): void {
    const inv = pipelineId ? this.invocations.get(pipelineId) : undefined;
    // While the pool opens, a pool-level prompt (a password the server asks for) stops the OpenTimeout clock.
    const hostUi = inv?.hostUi ?? (this._state === 'Opening' ? this.openingHostUi : undefined) ?? this.hostUi;
    // A prompt for a pipeline is withdrawn when the pipeline ends; one for the pool when the session ends.
    const signal = pipelineId ? inv?.signal : this.endedSignal.signal;
    void dispatchHostCall(call, hostUi, signal).then((outcome: HostCallOutcome) => {
      if (outcome.kind === 'exit') {
        for (const l of this.exitListeners) l(outcome.exitCode);
        return;
      }
      if (outcome.kind === 'none' || call.callId === -100n) return;
      const pipeline = pipelineId ? this.pool.getPipeline(pipelineId) : undefined;
      try {
        if (pipeline) pipeline.hostResponse(call.callId, call.methodId, outcome.result);
        else this.pool.hostResponse(call.callId, call.methodId, outcome.result);
      } catch (e) {
        this.log.debug(`host response dropped: ${(e as Error).message}`);
      }
      this.kickSend();
    });
  }

  private fail(err: PSRemotingError): void {
    if (this._state === 'Broken' || this._state === 'Closed') return;
    this.endInvocations(err);
    this.opened.reject(err);
    this.setState('Broken', err);
  }

  private endInvocations(err: PSRemotingError): void {
    for (const w of this.poolCalls.values()) w.reject(err);
    this.poolCalls.clear();
    for (const inv of this.invocations.values()) inv.abort(err);
    this.invocations.clear();
    this.resumeReceiving();
  }

  // ---- commands ---------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this._state === 'Opened') return;
    throw (
      this.brokenReason ??
      new PSRemotingError(
        `The session ${this.name} to ${this.computerName} is ${this._state}; it cannot run commands.`,
        {
          errorId: 'InvalidRunspaceState',
          category: 'InvalidOperation',
          targetObject: this.computerName,
        },
      )
    );
  }

  /**
   * Runs a script (or a full pipeline spec) on the remote side. Iterate the result for output and records,
   * or await `.result()`.
   */
  invoke(script: string | PipelineSpec, options: InvokeOptions = {}): Invocation {
    this.assertOpen();
    const base: PipelineSpec =
      typeof script === 'string'
        ? { commands: [{ command: script, isScript: true }], noInput: options.input === undefined }
        : { ...script, noInput: options.input === undefined && (script.noInput ?? true) };
    // The host's RawUI as it is now (window and buffer size after a resize), for the server's $Host.UI.RawUI.
    const host = base.host ?? hostDefaultDataFrom(options.hostUi ?? this.hostUi) ?? undefined;
    const spec: PipelineSpec = host ? { ...base, host } : base;
    const pipeline = this.pool.createPipeline(spec);
    return this.track(pipeline, options);
  }

  /** GET_COMMAND_METADATA (Get-Command over the protocol); output: Count, then one CommandMetadata each. */
  getCommandMetadata(names: string[], commandType?: number): Invocation {
    this.assertOpen();
    return this.track(this.pool.getCommandMetadata(names, commandType), {});
  }

  private track(
    pipeline: ReturnType<ClientRunspacePool['createPipeline']>,
    options: InvokeOptions,
  ): Invocation {
    const inv = new Invocation(pipeline, options.hostUi ?? this.hostUi, {
      stop: (id) => this.stopPipeline(id),
      interrupt: (id) => this.interruptPipeline(id),
      resumeReceiving: () => this.resumeReceiving(),
    });
    this.invocations.set(pipeline.pipelineId, inv);
    this.pipelineCreated.set(pipeline.pipelineId, deferred<void>());
    if (options.input) {
      for (const v of options.input) pipeline.sendInput(v);
      pipeline.endInput();
    }
    if (options.signal) {
      const onAbort = () => void inv.stop().catch(() => {});
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener('abort', onAbort, { once: true });
      void inv.finished.finally(() => options.signal?.removeEventListener('abort', onAbort)).catch(() => {});
    }
    this.kickSend();
    return inv;
  }

  private async stopPipeline(id: string): Promise<void> {
    const pipeline = this.pool.getPipeline(id);
    if (pipeline?.state !== 'Running') return;
    pipeline.stop();
    this.kickSend();
    try {
      await this.afterCreated(id, () => this.conn.stopPipeline(id));
    } catch (e) {
      if (isPSRemotingError(e)) this.log.debug(`stop: ${e.message}`);
      else throw e;
    }
  }

  /**
   * Ctrl+C for whatever the session is running (an internal command such as the prompt, Enter-PSSession's
   * command check, a completion): Invocation.interrupt for each, with the same escalation.
   */
  interrupt(): void {
    for (const id of [...this.invocations.keys()]) this.interruptPipeline(id);
  }

  /** Pipelines Ctrl+C is stopping, with their escalation timers. */
  private readonly stopping = new Map<string, { answered: boolean; timers: NodeJS.Timeout[] }>();

  private interruptPipeline(id: string): void {
    const inv = this.invocations.get(id);
    if (!inv || this._state !== 'Opened') return;
    if (this.stopping.has(id)) {
      this.terminate(interruptedAgainError(this.computerName));
      return;
    }
    const entry = { answered: false, timers: [] as NodeJS.Timeout[] };
    this.stopping.set(id, entry);
    const cancel = this.options.cancelTimeoutMs;
    const answerMs = cancel > 0 ? Math.min(STOP_ANSWER_TIMEOUT_MS, cancel) : STOP_ANSWER_TIMEOUT_MS;
    // CancelTimeout 0: no bound on the stop itself (New-PSSessionOption: "the command continues indefinitely").
    const stopBound = cancel > 0 ? Math.min(cancel, 2_147_483_647) : undefined;
    entry.timers.push(
      setTimeout(() => {
        if (!entry.answered) this.terminate(stopNotAnsweredError(this.computerName, answerMs));
        else if (stopBound !== undefined && stopBound <= answerMs)
          this.terminate(stopTimedOutError(this.computerName, stopBound));
      }, answerMs),
    );
    if (stopBound !== undefined && stopBound > answerMs) {
      entry.timers.push(
        setTimeout(() => this.terminate(stopTimedOutError(this.computerName, stopBound)), stopBound),
      );
    }
    const done = () => {
      for (const t of entry.timers) clearTimeout(t);
      this.stopping.delete(id);
    };
    void inv.finished.then(done, done);
    const pipeline = this.pool.getPipeline(id);
    if (pipeline?.state === 'Running') {
      pipeline.stop();
      this.kickSend();
    }
    this.afterCreated(id, () => this.conn.stopPipeline(id)).then(
      () => {
        entry.answered = true;
      },
      (e: unknown) => this.log.debug(`stop: ${(e as Error).message}`),
    );
  }

  /**
   * Ends the session at once, without the goodbye a stuck or silent server would never answer: Broken with
   * `reason`, running commands fail with it, the transport is torn down (the child killed, the channel closed).
   */
  private terminate(reason: PSRemotingError): void {
    if (this._state === 'Closed' || this._state === 'Broken') return;
    this.fail(reason);
    if (this.conn.abort) this.conn.abort(reason);
    else void this.conn.close().catch(() => {});
  }

  /**
   * Sends a pool call and waits for its answer: at most OperationTimeout (PoolCallTimedOut), or until `signal`
   * aborts (OperationStopped). A late answer is dropped.
   */
  private poolCall(send: () => bigint, options: PoolCallOptions = {}): Promise<PSValue> {
    this.assertOpen();
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(poolCallStopped(signal.reason));
    const d = deferred<PSValue>();
    const callId = send();
    this.poolCalls.set(callId, d);
    this.kickSend();
    const giveUp = (err: PSRemotingError) => {
      if (this.poolCalls.get(callId) !== d) return;
      this.poolCalls.delete(callId);
      d.reject(err);
    };
    const ms = this.options.operationTimeoutMs;
    const timer =
      ms > 0
        ? setTimeout(() => giveUp(poolCallTimedOut(this.computerName, ms)), Math.min(ms, 2_147_483_647))
        : undefined;
    const onAbort = () => giveUp(poolCallStopped(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    return d.promise.finally(() => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  }

  /** SET_MAX_RUNSPACES: true when the server accepted the new maximum. */
  async setMaxRunspaces(count: number, options?: PoolCallOptions): Promise<boolean> {
    return (await this.poolCall(() => this.pool.setRunspaces('MaxRunspaces', count), options)) === true;
  }

  /** SET_MIN_RUNSPACES: true when the server accepted the new minimum. */
  async setMinRunspaces(count: number, options?: PoolCallOptions): Promise<boolean> {
    return (await this.poolCall(() => this.pool.setRunspaces('MinRunspaces', count), options)) === true;
  }

  /** GET_AVAILABLE_RUNSPACES: how many runspaces of the pool are free. */
  async getAvailableRunspaces(options?: PoolCallOptions): Promise<number> {
    const v = await this.poolCall(() => this.pool.getAvailableRunspaces(), options);
    return Number(
      v instanceof PSObject ? v.baseValue : typeof v === 'object' && v !== null && 'value' in v ? v.value : v,
    );
  }

  /** RESET_RUNSPACE_STATE (protocol 2.3+): variables and state of the runspace back to new. */
  async resetRunspaceState(options?: PoolCallOptions): Promise<boolean> {
    return (await this.poolCall(() => this.pool.resetRunspaceState(), options)) === true;
  }

  /** Closes the session (idempotent). Running pipelines end with the session. */
  async close(): Promise<void> {
    if (this._state === 'Closed') return;
    if (this._state === 'Broken') {
      await this.conn.close().catch(() => {});
      return;
    }
    try {
      this.pool.close();
    } catch {
      // Already closing or never opened: the transport close below is what matters.
    }
    await this.conn.close().catch((e: unknown) => this.log.debug(`close: ${(e as Error).message}`));
    await this.ended.promise;
  }
}

/** Options of the pool calls (setMaxRunspaces, getAvailableRunspaces, resetRunspaceState, ...). */
export interface PoolCallOptions {
  /** Aborting it stops the wait: the call rejects with OperationStopped. */
  readonly signal?: AbortSignal;
}

function asRemotingError(e: unknown, computerName: string): PSRemotingError {
  if (isPSRemotingError(e)) return e;
  const err = e as Error;
  return new PSRemotingError(
    `Connecting to remote server ${computerName} failed: ${err?.message ?? String(e)}`,
    {
      errorId: 'PSRemotingTransportException',
      category: 'OpenError',
      targetObject: computerName,
      cause: e,
    },
  );
}

/**
 * Opens a session: resolves the target, connects the transport, opens the runspace pool. The library's entry
 * point; the CLI's `psremote enter` is built on it.
 */
export async function openSession(options: OpenSessionOptions): Promise<PSSession> {
  const env = options.env ?? process.env;
  const log = options.log ?? silentLogger;
  const target =
    options.target ??
    options.transport.resolveTarget(options.bound ?? { parameterSet: 'ComputerName', bound: {} }, env);
  const resolved = options.sessionOptions ?? resolveSessionOptions(options.bound?.bound.SessionOption);
  const sessionOptions: ResolvedSessionOptions =
    options.openTimeoutMs === undefined ? resolved : { ...resolved, openTimeoutMs: options.openTimeoutMs };
  const table = options.table ?? defaultSessionTable;
  const { id, name } = table.allocate(options.name);
  // OpenTimeout bounds the whole open, transport connect and pool open, for every transport; its clock stops
  // while the user is asked something (a password, a host key).
  const deadline = new PausableDeadline(sessionOptions.openTimeoutMs, () =>
    openTimeoutError(target.computerName, sessionOptions.openTimeoutMs),
  );
  // The connect phase gets its own signal: aborting it after the session is open must not kill the session.
  const connectAbort = new AbortController();
  const onOuterAbort = () => connectAbort.abort(openCancelled(options.signal?.reason));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  deadline.expired.catch((e: unknown) => connectAbort.abort(e));
  const stopped = new Promise<never>((_, reject) => {
    const onAbort = () => reject(connectAbort.signal.reason);
    if (connectAbort.signal.aborted) onAbort();
    else connectAbort.signal.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => {});
  try {
    let conn: TransportConnection;
    const connecting = options.transport.connect(target, {
      hostUi: pausingHostUi(options.hostUi, deadline),
      signal: connectAbort.signal,
      log,
      env,
      options: sessionOptions,
    });
    try {
      // A transport that does not honour its signal at once still cannot hold the open past the deadline.
      conn = await Promise.race([connecting, stopped]);
    } catch (e) {
      // A connection that arrives after the timeout or Ctrl+C is closed, not leaked.
      connecting.then((late) => late.close().catch(() => {})).catch(() => {});
      throw connectAbort.signal.aborted && isPSRemotingError(connectAbort.signal.reason)
        ? connectAbort.signal.reason
        : asRemotingError(e, target.computerName);
    }
    const session = new PSSession({
      id,
      name,
      target,
      transportName: options.transport.name,
      hostUi: options.hostUi,
      openingHostUi: pausingHostUi(options.hostUi, deadline),
      conn,
      log,
      table,
      options: sessionOptions,
    });
    // The pool open waits for the same deadline; Ctrl+C reaches it through connectAbort (and the transport's
    // own copy of that signal fails the connection).
    await session.start(stopped);
    return session;
  } finally {
    deadline.clear();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** The HostUi lent while opening: the OpenTimeout clock stops while a prompt waits for the user. */
function pausingHostUi(hostUi: HostUi, deadline: PausableDeadline): HostUi {
  const PROMPTS = new Set([
    'readLine',
    'readLineAsSecureString',
    'prompt',
    'promptForCredential',
    'promptForChoice',
    'promptForChoiceMultiple',
  ]);
  return new Proxy(hostUi, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (typeof key !== 'string' || !PROMPTS.has(key) || typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        deadline.pause();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        } finally {
          deadline.resume();
        }
      };
    },
  });
}
