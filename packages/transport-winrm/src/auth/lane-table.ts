import type { AuthGeneration, Lane } from '../wsman/auth.ts';

/** How long a request waits for another request's handshake on its lane before starting its own. */
const HANDSHAKE_WAIT_MS = 30_000;

interface Entry<T extends object> {
  /** `undefined`: the lane is reserved for the request that whenFree answered `undefined`, until it calls start. */
  state: T | undefined;
  /** Which handshake this is, unique in the table (0 while reserved): see AuthGeneration. */
  generation: number;
  /** Settles when the lane's handshake ends, either way: other requests on the lane wait for it. */
  readonly done: Promise<void>;
  readonly settle: () => void;
}

export interface LaneTableOptions<T extends object> {
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
export class LaneTable<T extends object> {
  readonly #entries = new Map<Lane, Entry<T>>();
  readonly #options: LaneTableOptions<T>;
  #generations = 0;
  /** Each started state's generation, for as long as something (an answer in flight) still holds the state. */
  readonly #generationOf = new WeakMap<T, AuthGeneration>();
  #closed = false;

  constructor(options: LaneTableOptions<T>) {
    this.#options = options;
  }

  get(lane: Lane): T | undefined {
    return this.#entries.get(lane)?.state;
  }

  /** The generation `state` was started with, for PreparedRequest.generation (still known once it was dropped). */
  generationOf(state: T): AuthGeneration | undefined {
    return this.#generationOf.get(state);
  }

  /**
   * The lane's state if it is still the handshake of `generation` (an answer's AuthResponse.generation); `undefined`
   * generation: the current one, whichever. See `stale`.
   */
  current(lane: Lane, generation: AuthGeneration | undefined): T | undefined {
    const entry = this.#entries.get(lane);
    if (entry?.state === undefined) return undefined;
    return generation === undefined || entry.generation === generation ? entry.state : undefined;
  }

  /** Whether `state` is still its lane's (not dropped, not replaced). */
  holds(lane: Lane, state: T): boolean {
    return this.#entries.get(lane)?.state === state;
  }

  /**
   * Whether an answer of `generation` belongs to a handshake that is no longer the lane's (dropped, or replaced by
   * another): it must not be applied to whatever the lane holds now.
   */
  stale(lane: Lane, generation: AuthGeneration | undefined): boolean {
    if (generation === undefined) return false;
    const entry = this.#entries.get(lane);
    return entry?.state === undefined || entry.generation !== generation;
  }

  /**
   * A new handshake on `lane`, by the request whenFree answered `undefined` (it fills that reservation, and the
   * requests waiting on the lane go on waiting for this handshake). A handshake still on the lane is replaced: its
   * state released, its waiters woken to wait for this one.
   */
  start(lane: Lane, state: T): T {
    if (this.#closed) {
      this.#options.release?.(state);
      throw new Error('the authenticator was disposed');
    }
    const entry = this.#entries.get(lane);
    const generation = ++this.#generations;
    this.#generationOf.set(state, generation);
    if (entry && entry.state === undefined) {
      entry.state = state;
      entry.generation = generation;
      return state;
    }
    if (entry) this.drop(lane);
    this.#entries.set(lane, LaneTable.#entry(state, generation));
    return state;
  }

  static #entry<T extends object>(state: T | undefined, generation: number): Entry<T> {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      settle = r;
    });
    return { state, generation, done, settle };
  }

  /** `state`'s handshake succeeded: the requests waiting on its lane go on (a state already dropped: nothing). */
  established(lane: Lane, state: T): void {
    const entry = this.#entries.get(lane);
    if (entry?.state === state) entry.settle();
  }

  /**
   * Forgets the lane (its connection was replaced, or its handshake failed): its next request starts over. With
   * `generation`: only while the lane's handshake is that one (a reset of a handshake since replaced is nothing).
   */
  drop(lane: Lane, generation?: AuthGeneration): void {
    const entry = this.#entries.get(lane);
    if (!entry) return;
    if (generation !== undefined && (entry.state === undefined || entry.generation !== generation)) return;
    this.#entries.delete(lane);
    if (entry.state !== undefined) this.#options.release?.(entry.state);
    entry.settle();
  }

  /** Drops every lane (the authenticator is disposed): every waiter wakes, its timer cleared. */
  dropAll(): void {
    for (const lane of [...this.#entries.keys()]) this.drop(lane);
  }

  /**
   * The authenticator is disposed: every lane dropped (its state released), and none started again: a prepare
   * still under way when it happened fails instead of holding a new context nobody would release.
   */
  close(): void {
    this.#closed = true;
    this.dropAll();
  }

  /**
   * The lane's state for a request's first attempt, once no other request's handshake is under way on the lane:
   * legs are never interleaved on one connection. A handshake abandoned between legs (its request aborted) is
   * dropped after HANDSHAKE_WAIT_MS. A later attempt (`attempt` > 0) is that handshake's own next leg: no wait,
   * unless `generation` (the generation of the attempt's previous leg) says the lane's handshake is another one
   * since: the attempt then waits like a first one (its answer belonged to a handshake that was replaced).
   *
   * `undefined` means: start the lane's handshake, now. The lane is then reserved for the caller, so that the other
   * requests that were waiting (or arrive meanwhile) wait for its handshake instead of starting their own on the
   * same connection; a reservation not filled by `start` before the event loop's next turn (the caller failed
   * first) lapses.
   */
  async whenFree(lane: Lane, attempt: number, generation?: AuthGeneration): Promise<T | undefined> {
    if (this.#closed) throw new Error('the authenticator was disposed');
    let entry = this.#entries.get(lane);
    const ownLeg = (e: Entry<T>) => attempt > 0 && (generation === undefined || generation === e.generation);
    while (
      entry &&
      (entry.state === undefined || (!ownLeg(entry) && !this.#options.established(entry.state)))
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
      if (this.#closed) throw new Error('the authenticator was disposed');
      entry = this.#entries.get(lane);
    }
    if (entry) return entry.state;
    const reserved = LaneTable.#entry<T>(undefined, 0);
    this.#entries.set(lane, reserved);
    setImmediate(() => {
      if (this.#entries.get(lane) === reserved && reserved.state === undefined) this.drop(lane);
    }).unref();
    return undefined;
  }
}

/**
 * `challenge`'s answer to a response of a handshake that is no longer its lane's (`LaneTable.stale`): it is not
 * applied to the lane's current one. A 401, or the success of a handshake-only leg (whose body was empty), sends the
 * request again: it then waits for the lane's current handshake, or starts one. Anything else (a redirect, a server
 * error) is no authentication answer: the request ends with it.
 */
export function retryStaleAnswer(status: number): boolean {
  return status === 401 || (status >= 200 && status < 300);
}

/** Whether a lane's bodies are sealed: MS-WSMV 2.2.9.1 encryption over HTTP, unless the session asked for none. */
export function sealsBodies(url: URL, encryption: 'always' | 'never' | undefined): boolean {
  return url.protocol === 'http:' && encryption !== 'never';
}
