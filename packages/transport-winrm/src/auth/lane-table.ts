import type { Lane } from '../wsman/auth.ts';

/** How long a request waits for another request's handshake on its lane before starting its own. */
const HANDSHAKE_WAIT_MS = 30_000;

interface Entry<T> {
  readonly state: T;
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

  /** A new handshake on `lane`. */
  start(lane: Lane, state: T): T {
    let settle: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      settle = r;
    });
    this.#entries.set(lane, { state, done, settle });
    return state;
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
    this.#options.release?.(entry.state);
    entry.settle();
  }

  dropAll(): void {
    for (const lane of [...this.#entries.keys()]) this.drop(lane);
  }

  /**
   * The lane's state for a request's first attempt, once no other request's handshake is under way on the lane:
   * legs are never interleaved on one connection. A handshake abandoned between legs (its request aborted) is
   * dropped after HANDSHAKE_WAIT_MS. A later attempt (`attempt` > 0) is that handshake's own next leg: no wait.
   */
  async whenFree(lane: Lane, attempt: number): Promise<T | undefined> {
    let entry = this.#entries.get(lane);
    while (entry && attempt === 0 && !this.#options.established(entry.state)) {
      const waited = await Promise.race([
        entry.done.then(() => true),
        new Promise<false>((r) => setTimeout(r, HANDSHAKE_WAIT_MS, false).unref()),
      ]);
      if (!waited && this.#entries.get(lane) === entry) this.drop(lane);
      entry = this.#entries.get(lane);
    }
    return entry?.state;
  }
}

/** Whether a lane's bodies are sealed: MS-WSMV 2.2.9.1 encryption over HTTP, unless the session asked for none. */
export function sealsBodies(url: URL, encryption: 'always' | 'never' | undefined): boolean {
  return url.protocol === 'http:' && encryption !== 'never';
}
