import type {
  ClientPipeline,
  ErrorRecordInfo,
  InformationRecordInfo,
  ProgressRecordInfo,
  PSInvocationState,
  PSValue,
} from '@psremote/psrp';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import { AsyncQueue } from '../util/async-queue.ts';
import { deferred } from '../util/deferred.ts';

/** What a running command produces, in arrival order. */
export type InvocationEvent =
  | { readonly kind: 'output'; readonly value: PSValue }
  | { readonly kind: 'error'; readonly record: ErrorRecordInfo }
  | { readonly kind: 'warning' | 'verbose' | 'debug'; readonly message: string }
  | { readonly kind: 'information'; readonly record: InformationRecordInfo }
  | { readonly kind: 'progress'; readonly record: ProgressRecordInfo };

/** The end of a command. */
export interface InvocationResult {
  readonly state: PSInvocationState;
  /** Why it failed or stopped, as the server said. */
  readonly reason: ErrorRecordInfo | undefined;
  /** Everything not consumed through iteration. */
  readonly output: PSValue[];
  readonly errors: ErrorRecordInfo[];
  readonly warnings: string[];
  readonly verbose: string[];
  readonly debug: string[];
  readonly information: InformationRecordInfo[];
}

export interface InvocationDriver {
  stop(pipelineId: string): Promise<void>;
  interrupt(pipelineId: string): void;
  resumeReceiving(): void;
}

/**
 * One running pipeline: iterate it for its events (output and every stream), or await `result()`. Host calls
 * go to its HostUi. While a consumer iterates and falls behind, receiving pauses, so memory stays flat.
 */
export class Invocation implements AsyncIterable<InvocationEvent> {
  readonly pipelineId: string;
  readonly hostUi: HostUi;
  private readonly queue: AsyncQueue<InvocationEvent>;
  private readonly done = deferred<{ state: PSInvocationState; reason: ErrorRecordInfo | undefined }>();
  private iterated = false;
  private finalState: PSInvocationState | undefined;
  private pressured = false;
  private readonly ended = new AbortController();

  readonly pipeline: ClientPipeline;
  private readonly driver: InvocationDriver;

  constructor(pipeline: ClientPipeline, hostUi: HostUi, driver: InvocationDriver) {
    this.pipeline = pipeline;
    this.driver = driver;
    this.pipelineId = pipeline.pipelineId;
    this.hostUi = hostUi;
    this.queue = new AsyncQueue<InvocationEvent>(1024, (p) => {
      this.pressured = p;
      if (!p) driver.resumeReceiving();
    });
  }

  /** True while an iterating consumer lags behind: the session pauses its receive loop. */
  get wantsPause(): boolean {
    return this.iterated && this.pressured;
  }

  get state(): PSInvocationState {
    return this.finalState ?? this.pipeline.state;
  }

  /**
   * Aborted when the pipeline ends (Completed, Stopped, Failed, or the session broke): a host prompt still open
   * for it (Read-Host after Ctrl+C stopped the command) is withdrawn.
   */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** Resolves when the pipeline reached Completed, Stopped or Failed (or the session broke). */
  get finished(): Promise<{ state: PSInvocationState; reason: ErrorRecordInfo | undefined }> {
    return this.done.promise;
  }

  /** @internal called by the session */
  deliver(event: InvocationEvent): void {
    this.queue.push(event);
  }

  /** @internal called by the session */
  finish(state: PSInvocationState, reason: ErrorRecordInfo | undefined): void {
    if (this.finalState) return;
    this.finalState = state;
    this.queue.end();
    this.done.resolve({ state, reason });
    this.ended.abort();
  }

  /** @internal the session broke under this pipeline */
  abort(error: PSRemotingError): void {
    if (this.finalState) return;
    this.finalState = 'Failed';
    this.queue.fail(error);
    this.done.reject(error);
    this.ended.abort(error);
  }

  /** Stops the pipeline (Ctrl+C): the server answers with the Stopped state. */
  async stop(): Promise<void> {
    if (this.finalState) return;
    await this.driver.stop(this.pipelineId);
  }

  /**
   * Ctrl+C, escalating so that the user always gets out: the first call stops the pipeline; if that stop gets no
   * answer within a few seconds (STOP_ANSWER_TIMEOUT_MS, less when CancelTimeout is shorter), if the command has
   * not ended within CancelTimeout, or on a second call, the session ends (Broken, transport closed at once) and
   * this invocation fails with the reason (IPCSignalTimedOut, PipelineStopTimedOut, SessionEndedByInterrupt).
   */
  interrupt(): void {
    if (this.finalState) return;
    this.driver.interrupt(this.pipelineId);
  }

  [Symbol.asyncIterator](): AsyncIterator<InvocationEvent> {
    if (this.iterated) {
      throw new PSRemotingError('An invocation can be iterated only once.', {
        errorId: 'InvocationAlreadyIterated',
        category: 'InvalidOperation',
      });
    }
    this.iterated = true;
    return this.queue[Symbol.asyncIterator]();
  }

  /** Only the output objects. */
  async *output(): AsyncGenerator<PSValue> {
    for await (const e of this) if (e.kind === 'output') yield e.value;
  }

  /** Waits for the end and returns everything, by stream. Throws if the session broke. */
  async result(): Promise<InvocationResult> {
    const r: {
      output: PSValue[];
      errors: ErrorRecordInfo[];
      warnings: string[];
      verbose: string[];
      debug: string[];
      information: InformationRecordInfo[];
    } = { output: [], errors: [], warnings: [], verbose: [], debug: [], information: [] };
    if (!this.iterated) {
      for await (const e of this) {
        switch (e.kind) {
          case 'output':
            r.output.push(e.value);
            break;
          case 'error':
            r.errors.push(e.record);
            break;
          case 'warning':
            r.warnings.push(e.message);
            break;
          case 'verbose':
            r.verbose.push(e.message);
            break;
          case 'debug':
            r.debug.push(e.message);
            break;
          case 'information':
            r.information.push(e.record);
            break;
          case 'progress':
            break;
        }
      }
    }
    const end = await this.done.promise;
    return { ...r, state: end.state, reason: end.reason };
  }
}
