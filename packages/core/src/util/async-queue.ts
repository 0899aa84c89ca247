/**
 * An unbounded-by-design but flow-controlled FIFO that an async iterator drains. Two ways for the producer to
 * keep it short, one for each kind of source:
 * - a stream it can pause (OutOfProc's duplex, an invocation's events): `onPressure(true)` once more than
 *   `highWaterMark` items wait, `onPressure(false)` once the reader has taken it down to half of that, so a
 *   paused stream is not resumed and paused again for every item (RSS stays flat while a big result streams in);
 * - a loop that asks for each batch (WinRM's Receive requests): it awaits `room()` before it asks, which resolves
 *   while fewer than `highWaterMark` items wait, so no request is issued while the reader does not pull and one
 *   is issued as soon as it has taken a single item below the mark (read-ahead stays at most one batch behind).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private pressured = false;
  private roomWaiters: Array<() => void> = [];

  private readonly highWaterMark: number;
  private readonly onPressure: (pressured: boolean) => void;

  constructor(highWaterMark = 64, onPressure: (pressured: boolean) => void = () => {}) {
    this.highWaterMark = highWaterMark;
    this.onPressure = onPressure;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** True once `end` or `fail` was called (items may still wait to be read). */
  get done(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.pressured && this.size > this.highWaterMark) {
      this.pressured = true;
      this.onPressure(true);
    }
  }

  /** Resolves when fewer than `highWaterMark` items wait (at once when that is so), or when the queue ended. */
  room(): Promise<void> {
    if (this.ended || this.size < this.highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** No more items: the iteration finishes once the queue is drained. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** The iteration throws `error` once the queued items are drained. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = { error };
    this.wake();
  }

  private wake(): void {
    this.releaseRoom();
    if (this.waiter && this.size === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (this.failure) w.reject(this.failure.error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of waiters) r();
  }

  private shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.roomWaiters.length > 0 && this.size < this.highWaterMark) this.releaseRoom();
    if (this.pressured && this.size <= this.highWaterMark / 2) {
      this.pressured = false;
      this.onPressure(false);
    }
    return item;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) return Promise.resolve({ value: this.shift(), done: false });
    if (this.ended) {
      return this.failure
        ? Promise.reject(this.failure.error)
        : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }
}
