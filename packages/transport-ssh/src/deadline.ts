/**
 * A one-shot timer that can be paused while the user is being asked something (a password typed slowly must
 * not count against -ConnectingTimeout or ConnectTimeout). Pauses nest.
 */
export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private remainingMs: number | undefined;
  private startedAt = 0;
  private pauses = 0;
  private done = false;
  private readonly onExpire: () => void;

  constructor(ms: number | undefined, onExpire: () => void) {
    this.onExpire = onExpire;
    this.remainingMs = ms;
    this.arm();
  }

  private arm(): void {
    if (this.remainingMs === undefined || this.done) return;
    this.startedAt = performance.now();
    this.timer = setTimeout(
      () => {
        this.done = true;
        this.onExpire();
      },
      Math.max(0, this.remainingMs),
    );
    this.timer.unref?.();
  }

  /** Milliseconds left, or undefined when there is no limit. */
  remaining(): number | undefined {
    if (this.remainingMs === undefined) return undefined;
    if (this.pauses > 0 || this.timer === undefined) return this.remainingMs;
    return Math.max(0, this.remainingMs - (performance.now() - this.startedAt));
  }

  pause(): void {
    if (this.pauses++ > 0 || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.remainingMs !== undefined) this.remainingMs -= performance.now() - this.startedAt;
  }

  resume(): void {
    if (this.pauses === 0 || --this.pauses > 0) return;
    this.arm();
  }

  /** Runs `fn` with the clock stopped. */
  async paused<T>(fn: () => Promise<T>): Promise<T> {
    this.pause();
    try {
      return await fn();
    } finally {
      this.resume();
    }
  }

  clear(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
