import { EXIT, type MainIo } from './io.ts';

/**
 * Exit statuses when psremote is made to end early: 128 + the signal's number, what a shell reports for a
 * program the signal ended. A closed stdout or stderr ends psremote with 141 (128 + SIGPIPE), the status `seq`,
 * `cat` or `git` have in `... | head -1`: Node ignores SIGPIPE and sees EPIPE instead, so psremote gives the
 * status the signal would have given (`set -o pipefail` scripts see the same as with those tools).
 */
export const END_STATUS = {
  SIGHUP: EXIT.hangup,
  SIGPIPE: EXIT.brokenPipe,
  SIGTERM: EXIT.terminated,
} as const;

type EndSignal = 'SIGTERM' | 'SIGHUP';
const SIGNALS: readonly EndSignal[] = ['SIGTERM', 'SIGHUP'];

/** How long a stopped command may take to end before the session is closed without waiting for the server. */
export const END_GRACE_MS = 3_000;

/**
 * How long the ending work (stop the command, close the session, reap pwsh) may take before psremote exits
 * anyway: the grace, the server's CloseAck, and the 2 s a local pwsh has between SIGTERM and SIGKILL.
 */
export const END_BOUND_MS = 10_000;

/**
 * The ends psremote does not choose: SIGTERM, SIGHUP, and a reader that went away (stdout or stderr closed:
 * EPIPE). Each ends the process quietly, never with a stack trace, and only after the session is closed:
 * the running command is stopped, the runspace pool closed and a local pwsh child reaped (the actions given to
 * onEnd do it; the CLI's main waits for them), so no server process is left behind. From then on nothing more
 * is written: the gated `io` drops every write, since its reader is gone or no longer wants to hear.
 *
 * A second SIGTERM or SIGHUP while the session closes exits at once; whatever still runs END_BOUND_MS after
 * the first end (a server that never answers the close) does not keep psremote alive.
 */
export class ProcessEnd {
  /** The io psremote writes through: writes are dropped once the process is ending. */
  readonly io: MainIo;
  private endStatus: number | undefined;
  private readonly actions = new Set<() => void>();
  private readonly boundMs: number;
  private readonly exit: (status: number) => void;

  constructor(io: MainIo, options: { boundMs?: number; exit?: (status: number) => void } = {}) {
    this.boundMs = options.boundMs ?? END_BOUND_MS;
    this.exit = options.exit ?? ((status) => process.exit(status));
    this.io = { ...io, stdout: this.gate(io.stdout), stderr: this.gate(io.stderr) };
    io.stdout.on('error', this.onOutputError);
    io.stderr.on('error', this.onOutputError);
    // A terminal that hung up makes reads fail (EIO): the end, not a crash.
    io.stdin.on('error', this.onInputError);
    for (const s of SIGNALS) process.on(s, this.onSignal);
  }

  /** The exit status once the process is ending, else undefined. */
  get status(): number | undefined {
    return this.endStatus;
  }

  /**
   * Registers what to do when the process must end (stop the command, close the session); runs it at once when
   * the end has come already. Returns the unsubscribe function.
   */
  onEnd(action: () => void): () => void {
    if (this.endStatus !== undefined) {
      runQuietly(action);
      return () => {};
    }
    this.actions.add(action);
    return () => this.actions.delete(action);
  }

  /** Ends the process with `status`: mutes the output, runs the actions, and bounds how long the rest may take. */
  end(status: number): void {
    if (this.endStatus !== undefined) return;
    this.endStatus = status;
    for (const action of [...this.actions]) runQuietly(action);
    this.actions.clear();
    setTimeout(() => this.exit(status), this.boundMs).unref();
  }

  /** Stops listening for signals (main is done). The stream error listeners stay: a late EPIPE must not crash. */
  dispose(): void {
    for (const s of SIGNALS) process.off(s, this.onSignal);
  }

  private readonly onSignal = (signal: EndSignal): void => {
    // Asked twice: the user does not want to wait for the close.
    if (this.endStatus !== undefined) this.exit(this.endStatus);
    this.end(END_STATUS[signal]);
  };

  private readonly onOutputError = (e: NodeJS.ErrnoException): void => {
    this.end(e.code === 'EPIPE' ? END_STATUS.SIGPIPE : EXIT.failed);
  };

  private readonly onInputError = (): void => {
    this.end(EXIT.failed);
  };

  /**
   * The stream as it is, except `write`, which drops the text once the process is ending (its callback still
   * runs, so no writer waits forever). Other members are the stream's own, bound to it.
   */
  private gate(stream: NodeJS.WriteStream): NodeJS.WriteStream {
    const write = (chunk: unknown, ...rest: unknown[]): boolean => {
      if (this.endStatus === undefined) return (stream.write as (...a: unknown[]) => boolean)(chunk, ...rest);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (callback) process.nextTick(callback);
      return true;
    };
    return new Proxy(stream, {
      get(target, property) {
        if (property === 'write') return write;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

function runQuietly(action: () => void): void {
  try {
    action();
  } catch {
    // Ending must go on whatever one action does.
  }
}
