import { afterEach, describe, expect, it, vi } from 'vitest';
import { LaneTable, sealsBodies } from './lane-table.ts';
import { negotiateAuth } from './negotiate-auth.ts';
import { windowsLikeChallenge } from './testing-fixtures/fake-ntlm-server.ts';

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

  it('two first requests at once on a free lane: one handshake, the other waits for it', async () => {
    const { lanes, released } = table();
    const [a, b] = [lanes.whenFree('ops', 0), lanes.whenFree('ops', 0)];
    expect(await a).toBeUndefined();
    // The first caller starts, as a prepare does right after its await.
    const s = lanes.start('ops', { stage: 'handshake', id: 1 });
    expect(await settledSoon(b)).toBe(false);
    s.stage = 'established';
    lanes.established('ops', s);
    expect(await b).toBe(s);
    expect(released).toEqual([]);
  });

  it('a dropped handshake with two waiters: one starts the next handshake, the other waits for it', async () => {
    const { lanes, released } = table();
    lanes.start('ops', { stage: 'handshake', id: 1 });
    const first = lanes.whenFree('ops', 0);
    const second = lanes.whenFree('ops', 0);
    lanes.drop('ops');
    expect(await first).toBeUndefined();
    const s = lanes.start('ops', { stage: 'handshake', id: 2 });
    expect(await settledSoon(second)).toBe(false);
    s.stage = 'established';
    lanes.established('ops', s);
    expect(await second).toBe(s);
    expect(released).toEqual([1]);
  });

  it('a reservation whose caller failed before starting lapses on the next turn', async () => {
    const { lanes } = table();
    expect(await lanes.whenFree('ops', 0)).toBeUndefined();
    const next = lanes.whenFree('ops', 0);
    await new Promise<void>((r) => setImmediate(r));
    expect(await next).toBeUndefined();
  });

  it('a second handshake started on a lane replaces the first: released once, its waiters wait on', async () => {
    const { lanes, released } = table();
    const old = lanes.start('ops', { stage: 'handshake', id: 1 });
    const waiting = lanes.whenFree('ops', 0);
    const s = lanes.start('ops', { stage: 'handshake', id: 2 });
    expect(released).toEqual([1]);
    expect(await settledSoon(waiting)).toBe(false);
    // A finish of the replaced handshake changes nothing.
    old.stage = 'established';
    lanes.established('ops', old);
    expect(await settledSoon(waiting)).toBe(false);
    s.stage = 'established';
    lanes.established('ops', s);
    expect(await waiting).toBe(s);
  });

  it('clears the 30 s timer as soon as the wait ends, and dropAll ends every wait', async () => {
    vi.useFakeTimers();
    const { lanes } = table();
    const s = lanes.start('ops', { stage: 'handshake', id: 1 });
    lanes.start('receive', { stage: 'handshake', id: 2 });
    const a = lanes.whenFree('ops', 0);
    const b = lanes.whenFree('receive', 0);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(2);
    s.stage = 'established';
    lanes.established('ops', s);
    expect(await a).toBe(s);
    expect(vi.getTimerCount()).toBe(1);
    lanes.dropAll();
    await vi.advanceTimersByTimeAsync(0);
    expect(await b).toBeUndefined();
    // b's reservation lapses on the next turn (nothing starts), and no timer is left behind.
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the 30 s timer does not keep the process alive', async () => {
    const { lanes } = table();
    lanes.start('ops', { stage: 'handshake', id: 1 });
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const waiting = lanes.whenFree('ops', 0);
    await Promise.resolve();
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    lanes.dropAll();
    expect(await waiting).toBeUndefined();
  });

  it('seals bodies over HTTP unless encryption is off, never over HTTPS', () => {
    expect(sealsBodies(new URL('http://h:5985/wsman'), undefined)).toBe(true);
    expect(sealsBodies(new URL('http://h:5985/wsman'), 'never')).toBe(false);
    expect(sealsBodies(new URL('https://h:5986/wsman'), 'always')).toBe(false);
  });

  it('in negotiateAuth: two requests at once on a fresh lane send one NEGOTIATE, not two', async () => {
    const auth = negotiateAuth({ username: 'u', password: 'p' });
    const req = {
      lane: 'operation',
      url: new URL('http://srv:5985/wsman'),
      body: new Uint8Array(0),
      attempt: 0,
    };
    const first = auth.prepare(req);
    const second = Promise.resolve(auth.prepare(req));
    expect((await first).headers.authorization).toMatch(/^Negotiate /);
    expect(await settledSoon(second)).toBe(false);
    // The handshake fails (the lane is reset): the second request starts its own.
    auth.reset?.('operation');
    expect((await second).headers.authorization).toMatch(/^Negotiate /);
  });

  it('in negotiateAuth: the answer to a sealed request whose lane was reset meanwhile is refused, not read', async () => {
    const auth = negotiateAuth({ username: 'u', password: 'p', mode: 'ntlm' });
    const url = new URL('http://srv:5985/wsman');
    const body = new TextEncoder().encode('<s:Envelope/>');
    const req = (attempt: number) => ({ lane: 'operation', url, body, attempt });
    const answer = (status: number, headers: Record<string, string>, text = '', requestSealed = false) => ({
      lane: 'operation',
      status,
      headers,
      body: new TextEncoder().encode(text),
      ...(requestSealed ? { requestSealed } : {}),
    });
    await auth.prepare(req(0));
    const challenge = Buffer.from(windowsLikeChallenge()).toString('base64');
    expect(await auth.challenge?.(answer(401, { 'www-authenticate': `Negotiate ${challenge}` }))).toBe(true);
    expect((await auth.prepare(req(1))).handshake).toBe(true);
    expect(await auth.challenge?.(answer(200, {}))).toBe(true);
    const sealed = await auth.prepare(req(2));
    expect(sealed.headers['content-type']).toMatch(/^multipart\/encrypted;/);
    // The connection is replaced while the sealed request is out; a plaintext answer then comes back.
    auth.reset?.('operation');
    const soap = '<s:Envelope>injected</s:Envelope>';
    const plaintext = answer(200, { 'content-type': 'application/soap+xml' }, soap, true);
    expect(() => auth.unwrap?.(plaintext)).toThrow(
      expect.objectContaining({
        errorId: 'WinRMEncryptedBodyInvalid',
        message: expect.stringMatching(/reset/),
      }),
    );
    // A handshake leg's answer (not sealed) is read as it came: the server's fault, say.
    expect(auth.unwrap?.(answer(500, {}, soap))).toEqual(new TextEncoder().encode(soap));
  });
});
