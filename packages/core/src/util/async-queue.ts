/**
 * An unbounded-by-design but flow-controlled FIFO that an async iterator drains. The producer learns through
 * `onPressure` when more than `highWaterMark` items wait, so it can pause its source (RSS stays flat while a
 * big result streams in).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private pressured = false;

  private readonly highWaterMark: number;
  private readonly onPressure: (pressured: boolean) => void;

  constructor(highWaterMark = 64, onPressure: (pressured: boolean) => void = () => {}) {
    this.highWaterMark = highWaterMark;
    this.onPressure = onPressure;
  }

  get size(): number {
    return this.items.length - this.head;
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
    if (this.waiter && this.size === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (this.failure) w.reject(this.failure.error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  private shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
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
