/** A promise with its settle functions, for waits that an event elsewhere completes. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A wait nobody awaits any more must not become an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
