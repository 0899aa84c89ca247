/**
 * A one-shot deadline whose clock stops while the user is being asked something: a host-key question read slowly
 * must not count against OpenTimeout. Pauses nest. `expired` rejects with the error `onExpire` makes.
 */
export class PausableDeadline {
  readonly expired: Promise<never>;
  private reject!: (e: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private leftMs: number;
  private since = 0;
  private pauses = 0;
  private settled = false;
  private readonly makeError: () => unknown;

  constructor(ms: number, makeError: () => unknown) {
    this.leftMs = ms;
    this.makeError = makeError;
    this.expired = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Nobody may be listening yet (or ever, once the open is done): never an unhandled rejection.
    this.expired.catch(() => {});
    this.arm();
  }

  private arm(): void {
    if (this.settled) return;
    this.since = performance.now();
    // setTimeout's longest delay is 2^31-1 ms, which is also the largest OpenTimeout (Int32.MaxValue ms).
    this.timer = setTimeout(() => this.expire(), Math.min(Math.max(0, this.leftMs), 2_147_483_647));
  }

  private expire(): void {
    if (this.settled) return;
    this.settled = true;
    this.timer = undefined;
    this.reject(this.makeError());
  }

  pause(): void {
    if (this.pauses++ > 0 || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.leftMs -= performance.now() - this.since;
  }

  resume(): void {
    if (this.pauses === 0 || --this.pauses > 0) return;
    this.arm();
  }

  /** Stops the clock for good (the open finished either way). */
  clear(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
