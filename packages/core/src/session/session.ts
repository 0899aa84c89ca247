import {
  ClientRunspacePool,
  type ErrorRecordInfo,
  type HostCall,
  type HostDefaultData,
  type PipelineSpec,
  PSObject,
  type PSValue,
  type PsrpEvent,
  type RunspacePoolState,
} from '@psremote/psrp';
import { isPSRemotingError, PSRemotingError } from '../errors/ps-remoting-error.ts';
import { HostBacklog } from '../host/host-backlog.ts';
import type { HostUi } from '../host/host-ui.ts';
import { type ResolvedSessionOptions, resolveSessionOptions } from '../parameters/session-option.ts';
import type { Logger, TransportConnection, TransportTarget } from '../transport/contract.ts';
import { deferred } from '../util/deferred.ts';
import { dispatchHostCall, type HostCallOutcome } from './host-dispatch.ts';
import { Invocation } from './invocation.ts';
import {
  interruptedAgainError,
  poolCallStopped,
  poolCallTimedOut,
  receiveLimitError,
  STOP_ANSWER_TIMEOUT_MS,
  stopNotAnsweredError,
  stopTimedOutError,
} from './limits.ts';
import { poolLimitOptions } from './pool-limits.ts';
import { SessionPump } from './pump.ts';
import { isSessionEnded, type SessionAction, sessionTransition } from './session-states.ts';
import type { SessionAvailability, SessionInfo, SessionState, SessionTable } from './session-table.ts';

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
 * An open PSRP session: a runspace pool on a transport connection (moved between them by its pump), the
 * invocations it runs and the host calls it answers. Listed in a session table.
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
  private readonly pump: SessionPump;
  private readonly stateListeners = new Set<(s: SessionState, reason?: PSRemotingError) => void>();
  private exitListeners = new Set<(code: number) => void>();
  private readonly table: SessionTable;
  private readonly poolCalls = new Map<bigint, ReturnType<typeof deferred<PSValue>>>();
  private readonly endedSignal = new AbortController();
  /** Pipeline releases not yet handed to the transport (releasePipeline); close() lets them go first. */
  private readonly pipelineReleases = new Set<Promise<void>>();
  /** Host writes wait for the terminal (HostUi.drained): the receive loop pauses until it has drained. */
  private readonly hostBacklog = new HostBacklog();
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
    this.pump = new SessionPump(this.pool, this.conn, this.log, {
      drainEvents: () => this.drainEvents(),
      shouldPause: () => this.shouldPause(),
      ended: () => this.onTransportEnded(),
      failed: (e) => this.onTransportFailed(e),
    });
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
      // Get-PSSession's view: a session a terminal is in is Busy for everyone else (its completions still run).
      availability: this.enteredBy !== undefined && this._state === 'Opened' ? 'Busy' : this.availability,
    };
  }

  private enteredBy: string | undefined;

  /** Who is inside the session interactively (Enter-PSSession), if anyone: the holder named at `acquireEnter`. */
  get enteredHolder(): string | undefined {
    return this.enteredBy;
  }

  /**
   * @internal use enterPSSession: marks the session entered by `holder` (one interactive user at a time; a second
   * gets the busy error). Returns the release, idempotent.
   */
  acquireEnter(holder: string): () => void {
    if (this.enteredBy !== undefined) throw sessionBusyError(this, 'EnterPSSessionSessionBusy');
    this.enteredBy = holder;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.enteredBy = undefined;
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

  /** The only place the state changes: through the session's transition table. */
  private transition(action: SessionAction, reason?: PSRemotingError): void {
    const s = sessionTransition(this._state, action);
    if (s === undefined) return;
    this._state = s;
    if (s === 'Broken') this.brokenReason = reason;
    for (const l of this.stateListeners) l(s, reason);
    if (isSessionEnded(s)) {
      // No createPipeline comes any more: a stop or close waiting for one goes on (and fails on the ended transport).
      this.pump.openAllGates();
      this.ended.resolve();
      this.endedSignal.abort(reason);
    }
  }

  // ---- opening ----------------------------------------------------------------------------------------

  /** @internal `stop` rejects when OpenTimeout expires or the open is cancelled (Ctrl+C), with the error to give. */
  async start(stop: Promise<never>): Promise<void> {
    this.table.add(this);
    const transportOpened = this.pump.start();
    try {
      await Promise.race([this.opened.promise, transportOpened.then(() => this.opened.promise), stop]);
    } catch (e) {
      await this.abandon(e);
      throw e;
    }
  }

  private async abandon(e: unknown): Promise<void> {
    this.fail(asRemotingError(e, this.computerName));
    await this.conn.close().catch(() => {});
  }

  // ---- events ---------------------------------------------------------------------------------------

  /** The connection ended cleanly: we closed it. */
  private onTransportEnded(): void {
    this.pool.transportClosed();
    this.drainEvents();
    this.endInvocations(
      new PSRemotingError(`The session to ${this.computerName} is closed.`, {
        errorId: 'PSSessionClosed',
        category: 'ResourceUnavailable',
      }),
    );
    this.transition('closed');
  }

  private onTransportFailed(e: unknown): void {
    const err = asRemotingError(e, this.computerName);
    // Break with the transport's reason first; the pool's own Broken event then changes nothing.
    this.fail(err);
    this.pool.transportFailed(err);
    this.drainEvents();
  }

  private shouldPause(): boolean {
    if (this.hostBacklog.waiting) return true;
    for (const inv of this.invocations.values()) if (inv.wantsPause) return true;
    return false;
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
        void this.pump
          .afterCreated(ev.pipelineId, () => this.conn.stopPipeline(ev.pipelineId))
          .catch(() => {});
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
      this.transition('opened');
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
      // Release the pipeline on the transport (OutOfProc Close). Nobody waits for its acknowledgement, but the
      // session's own close waits until the release has gone out (pipelineReleases).
      if (this._state === 'Opened') this.releasePipeline(id);
      this.pump.removePipeline(id);
    }
  }

  /**
   * Sends the pipeline's release (closePipeline) once it was created, and remembers it until it has been handed
   * to the transport. pwsh acknowledges the session's Close only when every command it knows was closed
   * (OutOfProcServerMediator waits for all of them): a release still waiting for its turn when the session's
   * Close goes out would never be sent, and the close would wait for the CloseAck until it gives up.
   */
  private releasePipeline(id: string): void {
    const handedOver = deferred<void>();
    this.pipelineReleases.add(handedOver.promise);
    void this.pump
      .afterCreated(id, () => {
        // closePipeline writes its Close before its first await; the acknowledgement is not waited for here.
        const closing = this.conn.closePipeline(id);
        handedOver.resolve();
        return closing;
      })
      .catch(() => {})
      .finally(() => {
        handedOver.resolve();
        this.pipelineReleases.delete(handedOver.promise);
      });
  }

  private onHostCall(pipelineId: string | null, call: HostCall): void {
    const inv = pipelineId ? this.invocations.get(pipelineId) : undefined;
    // While the pool opens, a pool-level prompt (a password the server asks for) stops the OpenTimeout clock.
    const hostUi = inv?.hostUi ?? (this._state === 'Opening' ? this.openingHostUi : undefined) ?? this.hostUi;
    // A prompt for a pipeline is withdrawn when the pipeline ends; one for the pool when the session ends.
    const signal = pipelineId ? inv?.signal : this.endedSignal.signal;
    const answered = dispatchHostCall(call, hostUi, signal, this.computerName);
    // A write member wrote before dispatchHostCall's first await: if the terminal is full, the next message waits.
    this.hostBacklog.hold(hostUi, () => this.pump.resumeReceiving());
    void answered.then((outcome: HostCallOutcome) => {
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
      this.pump.kickSend();
    });
  }

  private fail(err: PSRemotingError): void {
    if (isSessionEnded(this._state)) return;
    this.endInvocations(err);
    this.opened.reject(err);
    this.transition('broken', err);
  }

  private endInvocations(err: PSRemotingError): void {
    for (const w of this.poolCalls.values()) w.reject(err);
    this.poolCalls.clear();
    for (const inv of this.invocations.values()) inv.abort(err);
    this.invocations.clear();
    this.pump.resumeReceiving();
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
      resumeReceiving: () => this.pump.resumeReceiving(),
    });
    this.invocations.set(pipeline.pipelineId, inv);
    this.pump.addPipeline(pipeline.pipelineId);
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
    this.pump.kickSend();
    return inv;
  }

  private async stopPipeline(id: string): Promise<void> {
    const pipeline = this.pool.getPipeline(id);
    if (pipeline?.state !== 'Running') return;
    pipeline.stop();
    this.pump.kickSend();
    try {
      await this.pump.afterCreated(id, () => this.conn.stopPipeline(id));
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
      this.pump.kickSend();
    }
    this.pump
      .afterCreated(id, () => this.conn.stopPipeline(id))
      .then(
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
    if (isSessionEnded(this._state)) return;
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
    this.pump.kickSend();
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
    // The releases of finished pipelines go out before the session's Close, as PowerShell's client does (it
    // reports a command finished only after its CloseAck): pwsh holds the session's CloseAck until then.
    // A release waits for its pipeline's creation to return, which a broken server may never let happen: the
    // wait is bounded, and the transport's close keeps its own bound for the acknowledgement.
    if (this.pipelineReleases.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, RELEASE_WAIT_MS);
      });
      await Promise.race([Promise.all([...this.pipelineReleases]), late]);
      clearTimeout(timer);
    }
    await this.conn.close().catch((e: unknown) => this.log.debug(`close: ${(e as Error).message}`));
    await this.ended.promise;
  }
}

/** How long close() lets finished pipelines' releases go out before the session's own close (releasePipeline). */
const RELEASE_WAIT_MS = 2_000;

/** Options of the pool calls (setMaxRunspaces, getAvailableRunspaces, resetRunspaceState, ...). */
export interface PoolCallOptions {
  /** Aborting it stops the wait: the call rejects with OperationStopped. */
  readonly signal?: AbortSignal;
}

/**
 * A session another user is in, or running a command (InvokeCommandCommand.cs's ICMInvalidSessionAvailability
 * text). Enter-PSSession in pwsh waits for a busy runspace (RunspaceNotReady); psremote's sessions are shared
 * between terminals, so entering one that another terminal is in fails at once with EnterPSSessionSessionBusy.
 */
export function sessionBusyError(
  session: PSSession,
  errorId: 'EnterPSSessionSessionBusy' | 'InvokeCommandCommandInvalidSessionAvailability',
): PSRemotingError {
  return new PSRemotingError(
    `The session ${session.name}, ${session.instanceId}, ${session.computerName} is not available to run commands.  The session availability is Busy.`,
    errorId === 'EnterPSSessionSessionBusy'
      ? {
          errorId: 'EnterPSSessionSessionBusy',
          category: 'ResourceBusy',
          targetObject: session.name,
          recommendedAction:
            'Leave the session in the other terminal (exit), or open another with psremote new.',
        }
      : {
          errorId: 'InvokeCommandCommandInvalidSessionAvailability',
          category: 'InvalidOperation',
          targetObject: session.name,
          commandName: 'Microsoft.PowerShell.Commands.InvokeCommandCommand',
        },
  );
}

export function asRemotingError(e: unknown, computerName: string): PSRemotingError {
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
