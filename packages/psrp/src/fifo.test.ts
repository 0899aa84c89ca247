import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.ts';

describe('Fifo', () => {
  it('hands items out in the order they came in, then undefined when empty', () => {
    const q = new Fifo<number>();
    q.push(1);
    q.push(2);
    expect(q.shift()).toBe(1);
    q.push(3);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([2, 3, undefined]);
  });

  it('keeps no reference to what it handed out', () => {
    const q = new Fifo<object>();
    const a = {};
    q.push(a);
    q.push({});
    q.shift();
    const slots = (q as unknown as { items: unknown[] }).items;
    expect(slots.includes(a)).toBe(false);
    q.shift();
    expect(slots.length).toBe(0);
  });
});
