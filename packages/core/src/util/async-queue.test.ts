import { describe, expect, it } from 'vitest';
import { AsyncQueue } from './async-queue.ts';

describe('AsyncQueue', () => {
  it('delivers pushed items in order, to a waiting and a late reader', async () => {
    const q = new AsyncQueue<number>();
    const first = q.next();
    q.push(1);
    q.push(2);
    q.push(3);
    q.end();
    expect(await first).toEqual({ value: 1, done: false });
    const rest: number[] = [];
    for await (const v of q) rest.push(v);
    expect(rest).toEqual([2, 3]);
  });

  it('throws the failure after the queued items', async () => {
    const q = new AsyncQueue<string>();
    q.push('a');
    q.fail(new Error('boom'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const v of q) seen.push(v);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual(['a']);
  });

  it('signals pressure above the high-water mark and release below half of it', async () => {
    const events: boolean[] = [];
    const q = new AsyncQueue<number>(4, (p) => events.push(p));
    for (let i = 0; i < 6; i++) q.push(i);
    expect(events).toEqual([true]);
    for (let i = 0; i < 4; i++) await q.next();
    expect(events).toEqual([true, false]);
  });

  it('room() resolves while fewer than highWaterMark items wait, and again once the reader takes one below it', async () => {
    const q = new AsyncQueue<number>(3);
    let roomy = false;
    await q.room();
    for (let i = 0; i < 3; i++) q.push(i);
    const waiting = q.room().then(() => {
      roomy = true;
    });
    await Promise.resolve();
    expect(roomy).toBe(false);
    expect(await q.next()).toEqual({ value: 0, done: false });
    await waiting;
    expect(roomy).toBe(true);
    expect(q.size).toBe(2);
  });

  it('room() waiters are released when the queue ends or fails, with items still queued', async () => {
    for (const stop of [
      (q: AsyncQueue<number>) => q.end(),
      (q: AsyncQueue<number>) => q.fail(new Error('x')),
    ]) {
      const q = new AsyncQueue<number>(1);
      q.push(1);
      const waiting = q.room();
      expect(q.done).toBe(false);
      stop(q);
      await waiting;
      expect(q.done).toBe(true);
      expect(q.size).toBe(1);
      await expect(q.room()).resolves.toBeUndefined();
    }
  });

  it('ignores pushes after the end', async () => {
    const q = new AsyncQueue<number>();
    q.end();
    q.push(1);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('keeps memory compact over many items', async () => {
    const q = new AsyncQueue<number>(1 << 30);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      q.push(i);
      sum -= (await q.next()).value as number;
      sum += i;
    }
    expect(sum).toBe(0);
    expect(q.size).toBe(0);
  });
});
