import { describe, expect, it } from 'vitest';
import { Deadline } from './deadline.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Deadline', () => {
  it('fires once after its time', async () => {
    let fired = 0;
    const d = new Deadline(50, () => fired++);
    await sleep(120);
    expect(fired).toBe(1);
    d.clear();
  });

  it('does not count paused time (nested pauses), then fires', async () => {
    let fired = 0;
    const d = new Deadline(100, () => fired++);
    await sleep(40);
    await d.paused(async () => {
      d.pause();
      await sleep(150);
      d.resume();
    });
    expect(fired).toBe(0);
    expect(d.remaining()).toBeGreaterThan(20);
    await sleep(120);
    expect(fired).toBe(1);
  });

  it('no limit: never fires, remaining is undefined; clear stops it', async () => {
    let fired = 0;
    const none = new Deadline(undefined, () => fired++);
    expect(none.remaining()).toBeUndefined();
    const d = new Deadline(30, () => fired++);
    d.clear();
    await sleep(60);
    expect(fired).toBe(0);
  });
});
