import type { Lane } from '../wsman/auth.ts';

/** How long a request waits for another request's handshake on its lane before starting its own. */
const HANDSHAKE_WAIT_MS = 30_000;

interface Entry<T> {
  /** `undefined`: the lane is reserved for the request that whenFree answered `undefined`, until it calls start. */
  state: T | undefined;
  /** Settles when the lane's handshake ends, either way: other requests on the lane wait for it. */
  readonly done: Promise<void>;
  readonly settle: () => void;
}

export interface LaneTableOptions<T> {
  /** Whether the lane's handshake is over (its requests go out without waiting). */
  readonly established: (state: T) => boolean;
  /** Releases what a state holds (a native context) when its lane is dropped. */
  readonly release?: (state: T) => void;
}

/**
 * The per-lane authentication state of a connection-oriented authenticator (NTLM, Kerberos, CredSSP authenticate a
 * connection, and WsmanClient keeps one keep-alive connection per lane): one handshake per lane, the other requests
 * on that lane waiting until it ends, and a way to forget a lane whose connection was replaced.
 */
export class LaneTable<T> {
  readonly #entries = new Map<Lane, Entry<T>>();
  readonly #options: LaneTableOptions<T>;

  constructor(options: LaneTableOptions<T>) {
    this.#options = options;
  }

  get(lane: Lane): T | undefined {
    return this.#entries.get(lane)?.state;
  }

  /**
   * A new handshake on `lane`, by the request whenFree answered `undefined` (it fills that reservation, and the
   * requests waiting on the lane go on waiting for this handshake). A handshake still on the lane is replaced: its
   * state released, its waiters woken to wait for this one.
   */
  start(lane: Lane, state: T): T {
    const entry = this.#entries.get(lane);
    if (entry && entry.state === undefined) {
      entry.state = state;
      return state;
    }
    if (entry) this.drop(lane);
    this.#entries.set(lane, LaneTable.#entry(state));
    return state;
  }

  static #entry<T>(state: T | undefined): Entry<T> {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      settle = r;
    });
    return { state, done, settle };
  }

  /** `state`'s handshake succeeded: the requests waiting on its lane go on (a state already dropped: nothing). */
  established(lane: Lane, state: T): void {
    const entry = this.#entries.get(lane);
    if (entry?.state === state) entry.settle();
  }

  /** Forgets the lane (its connection was replaced, or its handshake failed): its next request starts over. */
  drop(lane: Lane): void {
    const entry = this.#entries.get(lane);
    if (!entry) return;
    this.#entries.delete(lane);
    if (entry.state !== undefined) this.#options.release?.(entry.state);
    entry.settle();
  }

  /** Drops every lane (the authenticator is disposed): every waiter wakes, its timer cleared. */
  dropAll(): void {
    for (const lane of [...this.#entries.keys()]) this.drop(lane);
  }

  /**
   * The lane's state for a request's first attempt, once no other request's handshake is under way on the lane:
   * legs are never interleaved on one connection. A handshake abandoned between legs (its request aborted) is
   * dropped after HANDSHAKE_WAIT_MS. A later attempt (`attempt` > 0) is that handshake's own next leg: no wait.
   *
   * `undefined` means: start the lane's handshake, now. The lane is then reserved for the caller, so that the other
   * requests that were waiting (or arrive meanwhile) wait for its handshake instead of starting their own on the
   * same connection; a reservation not filled by `start` before the event loop's next turn (the caller failed
   * first) lapses.
   */
  async whenFree(lane: Lane, attempt: number): Promise<T | undefined> {
    let entry = this.#entries.get(lane);
    while (
      entry &&
      (entry.state === undefined || (attempt === 0 && !this.#options.established(entry.state)))
    ) {
      const waiting = entry;
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(resolve, HANDSHAKE_WAIT_MS, false);
        timer.unref();
        void waiting.done.then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!waited && this.#entries.get(lane) === waiting) this.drop(lane);
      entry = this.#entries.get(lane);
    }
    if (entry) return entry.state;
    const reserved = LaneTable.#entry<T>(undefined);
    this.#entries.set(lane, reserved);
    setImmediate(() => {
      if (this.#entries.get(lane) === reserved && reserved.state === undefined) this.drop(lane);
    }).unref();
    return undefined;
  }
}

/** Whether a lane's bodies are sealed: MS-WSMV 2.2.9.1 encryption over HTTP, unless the session asked for none. */
export function sealsBodies(url: URL, encryption: 'always' | 'never' | undefined): boolean {
  return url.protocol === 'http:' && encryption !== 'never';
}
