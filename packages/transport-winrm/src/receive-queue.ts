/**
 * The merge of every Receive loop's payloads, drained by the kernel's `for await`. Bounded read-ahead: a loop
 * awaits `room()` before it asks the server for more, so while the kernel does not pull, no Receive is issued
 * once `highWaterMark` payloads wait (the same flow control as core's OutOfProc queue, which pauses its stream).
 */
export class ReceiveQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private roomWaiters: Array<() => void> = [];
  private readonly highWaterMark: number;

  constructor(highWaterMark = 64) {
    this.highWaterMark = highWaterMark;
  }

  get size(): number {
    return this.items.length - this.head;
  }

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
  }

  /** Resolves when fewer than `highWaterMark` payloads wait (at once when that is so), or when the queue ended. */
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
