import type {
  CompletionResult,
  HostUi,
  InvocationEvent,
  PSRemotingError,
  SessionState,
} from '@psremote/core';
import { AsyncQueue } from '@psremote/core';
import type { ErrorRecordInfo } from '@psremote/psrp';
import type { InvocationLike } from '../invoke-command.ts';
import type { ReplShell } from '../repl.ts';
import { mark } from '../timing.ts';
import type { AgentClient } from './client.ts';
import type { Message } from './frames.ts';
import { rawUiSnapshot } from './relay-host-ui.ts';
import { errorFromWire, eventFromWire, recordFromWire, type WireError, type WireEvent } from './wire.ts';

/** Events of a running command taken from the agent ahead of the reader, before the next one waits. */
const MAX_EVENTS_AHEAD = 64;

type Finished = { readonly state: string; readonly reason: ErrorRecordInfo | undefined };

/**
 * A session the agent holds, driven from this terminal: the REPL's shell (`psremote enter -Id`) and runInvoke's
 * invoker (`psremote invoke -Id`). Commands run in the agent; host calls come back to `hostUi`; Ctrl+C is sent on.
 * The agent gone (killed, crashed) is the session Broken for this client, with AgentUnavailable.
 */
export class AgentSessionShell implements ReplShell {
  private _state: SessionState = 'Opened';
  private readonly stateListeners = new Set<(s: SessionState, reason?: PSRemotingError) => void>();
  private exitCode: number | undefined;
  /** One request at a time on the connection: the REPL's prompt, completion and run never overlap. */
  private chain: Promise<unknown> = Promise.resolve();

  readonly session: ReplShell['session'];

  private readonly client: AgentClient;
  private readonly hostUi: HostUi;

  constructor(client: AgentClient, hostUi: HostUi) {
    this.client = client;
    this.hostUi = hostUi;
    client.hostUi = hostUi;
    const setState = (s: SessionState, reason?: PSRemotingError) => {
      if (this._state === s) return;
      this._state = s;
      for (const l of this.stateListeners) l(s, reason);
    };
    client.onUnasked((m) => {
      if (m.t === 'exit') this.exitCode = Number(m.code) || 0;
      if (m.t === 'state') {
        const s = String(m.state) as SessionState;
        if (s === 'Broken' || s === 'Closed')
          setState(s, m.reason ? errorFromWire(m.reason as WireError) : undefined);
      }
    });
    client.onClose((e) => setState('Broken', e));
    const self = this;
    this.session = {
      get state() {
        return self._state;
      },
      onStateChange: (l) => {
        this.stateListeners.add(l);
        return () => this.stateListeners.delete(l);
      },
      interrupt: () => this.interrupt(),
    };
  }

  get exitRequested(): number | undefined {
    return this.exitCode;
  }

  private interrupt(): void {
    try {
      this.client.send({ t: 'interrupt' });
    } catch {
      // The agent is gone: nothing runs.
    }
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => {});
    return p;
  }

  /** The prompt the agent pushed after attaching (fast-path.ts), for the first prompt(), computed with this RawUI. */
  private pushed: { raw: string; answer: Promise<Message> } | undefined;

  usePushedPrompt(raw: string, answer: Promise<Message>): void {
    this.pushed = { raw, answer };
  }

  prompt(): Promise<string> {
    return this.serial(async () => {
      const pushed = this.pushed;
      this.pushed = undefined;
      if (pushed) {
        const same = JSON.stringify(rawUiSnapshot(this.hostUi)) === pushed.raw;
        try {
          const m = await pushed.answer;
          if (same) return String(m.text ?? 'PS>');
        } catch (e) {
          if (same) throw e;
        }
        // The terminal changed since (resized): the prompt function may use its size, so it runs again.
      }
      mark('prompt asked');
      const m = await this.client.request({ t: 'prompt', raw: rawUiSnapshot(this.hostUi) });
      mark('prompt answered');
      return String(m.text ?? 'PS>');
    });
  }

  complete(line: string, cursor: number): Promise<CompletionResult> {
    return this.serial(async () => {
      const m = await this.client.request({ t: 'complete', line, cursor });
      return m.result as CompletionResult;
    });
  }

  run(line: string): InvocationLike {
    return this.start({ t: 'run', line });
  }

  /** runInvoke's form: the agent builds the same pipeline `psremote invoke` builds in process. */
  invokeScript(script: string, json: boolean, width: number): InvocationLike {
    return this.start({ t: 'run', script, json, width });
  }

  private start(request: { t: 'run' } & Record<string, unknown>): InvocationLike {
    // Backpressure: while the reader of the events (the REPL, waiting for a slow terminal) is behind, the next
    // message is not taken from the agent, whose socket then pauses (AgentClient), and the agent's session stops
    // reading from the server. Only while somebody iterates: a reader that stopped lets the rest come.
    const events = new AsyncQueue<InvocationEvent>(MAX_EVENTS_AHEAD);
    let reading = false;
    let stopReading!: () => void;
    const stoppedReading = new Promise<void>((r) => {
      stopReading = r;
    });
    const done = this.serial(async (): Promise<Finished> => {
      this.client.send({ ...request, raw: rawUiSnapshot(this.hostUi) });
      for (;;) {
        const m = await this.client.next();
        if (m.t === 'event') {
          events.push(eventFromWire(m.ev as WireEvent));
          if (reading) await Promise.race([events.room(), stoppedReading]);
          continue;
        }
        if (m.t === 'done') {
          if (m.error) throw errorFromWire(m.error as WireError);
          return { state: String(m.state), reason: recordFromWire(m.reason) };
        }
      }
    });
    const finished = done.then(
      (f) => {
        events.end();
        return f;
      },
      (e: unknown) => {
        // A broken connection is thrown by the iteration once the events before it are read, as an Invocation does.
        events.fail(e);
        throw e;
      },
    );
    finished.catch(() => {});
    const iterate = async function* (): AsyncGenerator<InvocationEvent> {
      reading = true;
      try {
        yield* events;
      } finally {
        reading = false;
        stopReading();
      }
    };
    return {
      finished,
      interrupt: () => this.interrupt(),
      [Symbol.asyncIterator]: iterate,
    };
  }
}
