import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaneTable, sealsBodies } from './lane-table.ts';

interface S {
  stage: 'handshake' | 'established';
  readonly id: number;
}

function table() {
  const released: number[] = [];
  const lanes = new LaneTable<S>({
    established: (s) => s.stage === 'established',
    release: (s) => released.push(s.id),
  });
  return { lanes, released };
}

/** Whether the promise settled within a few turns of the event loop. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('LaneTable', () => {
  afterEach(() => vi.useRealTimers());

  it('a first attempt waits for the lane handshake, and gets the state once it is established', async () => {
    const { lanes } = table();
    const s = lanes.start('ops', { stage: 'handshake', id: 1 });
    const waiting = lanes.whenFree('ops', 0);
    expect(await settledSoon(waiting)).toBe(false);
    // The handshake's own next leg never waits.
    expect(await lanes.whenFree('ops', 1)).toBe(s);
    s.stage = 'established';
    lanes.established('ops', s);
    expect(await waiting).toBe(s);
    // Another lane is independent.
    expect(await lanes.whenFree('receive', 0)).toBeUndefined();
  });

  it('a dropped handshake releases its state once and lets the waiters start their own', async () => {
    const { lanes, released } = table();
    lanes.start('ops', { stage: 'handshake', id: 1 });
    const waiting = lanes.whenFree('ops', 0);
    lanes.drop('ops');
    lanes.drop('ops');
    expect(await waiting).toBeUndefined();
    expect(released).toEqual([1]);
  });

  it('establishing a state that was already replaced does not release the new handshake', async () => {
    const { lanes } = table();
    const old = lanes.start('ops', { stage: 'handshake', id: 1 });
    lanes.drop('ops');
    lanes.start('ops', { stage: 'handshake', id: 2 });
    old.stage = 'established';
    lanes.established('ops', old);
    expect(await settledSoon(lanes.whenFree('ops', 0))).toBe(false);
  });

  it('drops a handshake abandoned between legs after 30 s', async () => {
    vi.useFakeTimers();
    const { lanes, released } = table();
    lanes.start('ops', { stage: 'handshake', id: 7 });
    const waiting = lanes.whenFree('ops', 0);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(released).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(await waiting).toBeUndefined();
    expect(released).toEqual([7]);
  });

  it('dropAll releases every lane', () => {
    const { lanes, released } = table();
    lanes.start('a', { stage: 'established', id: 1 });
    lanes.start('b', { stage: 'handshake', id: 2 });
    lanes.dropAll();
    expect(released.sort()).toEqual([1, 2]);
    expect(lanes.get('a')).toBeUndefined();
  });

  it('seals bodies over HTTP unless encryption is off, never over HTTPS', () => {
    expect(sealsBodies(new URL('http://h:5985/wsman'), undefined)).toBe(true);
    expect(sealsBodies(new URL('http://h:5985/wsman'), 'never')).toBe(false);
    expect(sealsBodies(new URL('https://h:5986/wsman'), 'always')).toBe(false);
  });
});
