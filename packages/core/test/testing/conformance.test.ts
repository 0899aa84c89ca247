import { describe, expect, it } from 'vitest';
import { PSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import type { PSSession } from '../../src/session/session.ts';
import { transportConformanceChecks } from '../../src/testing/conformance.ts';

/** A stand-in session whose invocations answer from a table: enough to show that the kit catches a bad one. */
function stubSession(
  answers: Record<string, unknown[]>,
  extra: Partial<Record<string, unknown>> = {},
): PSSession {
  let state = 'Opened';
  const s = {
    get state() {
      return state;
    },
    availability: 'Available',
    protocolVersion: '2.3',
    invoke(script: string) {
      if (state === 'Closed') throw new Error('closed');
      const key = Object.keys(answers).find((k) => script.startsWith(k));
      const output = key ? (answers[key] as unknown[]) : [];
      return {
        result: async () => ({ state: 'Completed', output, errors: [], warnings: [], reason: undefined }),
        async *output() {
          yield* output;
        },
      };
    },
    async close() {
      state = 'Closed';
    },
    ...extra,
  };
  return s as unknown as PSSession;
}

const run = async (session: PSSession, name: RegExp) => {
  const c = transportConformanceChecks({ open: async () => session }).find((x) => name.test(x.name));
  if (!c) throw new Error(`no check ${name}`);
  return c.run().then(
    () => undefined,
    (e: Error) => e,
  );
};

describe('transportConformanceChecks', () => {
  it('passes a session that answers as PowerShell does', async () => {
    const s = stubSession({ '1..5': [1, 2, 3, 4, 5], $input: [2, 4, 6] });
    expect(await run(s, /^round trip/)).toBeUndefined();
  });

  it('fails, saying what and what it got, when output comes back out of order', async () => {
    const e = await run(stubSession({ '1..5': [1, 2, 3, 5, 4], $input: [2, 4, 6] }), /^round trip/);
    expect(e?.name).toBe('ConformanceError');
    expect(e?.message).toBe('1..5 gives 1,2,3,4,5 (got [1,2,3,5,4])');
  });

  it('fails when large output is cut short', async () => {
    const e = await run(stubSession({ '#': ['x'.repeat(1_499_999)] }), /^large data/);
    expect(e?.message).toBe('the 1.5 MB string arrives whole');
  });

  it('fails when a session does not negotiate a protocol version', async () => {
    const e = await run(stubSession({}, { protocolVersion: undefined }), /^opens/);
    expect(e?.message).toMatch(/^a protocol version was negotiated/);
  });

  it('a transport that never stops a pipeline fails the check in bounded time instead of hanging', async () => {
    const s = stubSession({});
    const hanging = {
      ...s,
      state: 'Opened',
      availability: 'Available',
      protocolVersion: '2.3',
      invoke: () => ({ stop: () => new Promise(() => {}), result: () => new Promise(() => {}) }),
      close: async () => {},
    } as unknown as PSSession;
    const c = transportConformanceChecks({ open: async () => hanging, withinMs: 20 }).find((x) =>
      x.name.startsWith('stop:'),
    );
    const e = await c?.run().then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.name).toBe('ConformanceError');
    expect(e?.message).toBe('stop() did not happen within 100 ms');
  });

  /** A session whose server "dies" at kill() and that turns Broken 30 ms later. */
  function dyingSession(): { session: PSSession; kill: () => void } {
    let state = 'Opened';
    let die: () => void = () => {};
    const died = new Promise<void>((r) => {
      die = () => setTimeout(r, 30);
    });
    const reason = new PSRemotingError('gone', { errorId: 'X', category: 'ConnectionError' });
    const whenEnded = died.then(() => {
      state = 'Broken';
    });
    const session = {
      get state() {
        return state;
      },
      get reason() {
        return state === 'Broken' ? reason : undefined;
      },
      whenEnded,
      invoke: (script: string) => ({
        result: async () => {
          if (script === '$PID') return { state: 'Completed', output: [7], errors: [], warnings: [] };
          await whenEnded;
          throw reason;
        },
      }),
      close: async () => {},
    } as unknown as PSSession;
    return { session, kill: () => die() };
  }

  it('measures a dying server from the kill time a kill returns, not from the start of a slow kill call', async () => {
    const blockFor = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {}
    };
    const check = (killer: (kill: () => void) => unknown) => {
      const { session, kill } = dyingSession();
      const c = transportConformanceChecks({
        open: async () => session,
        withinMs: 200,
        kills: { 'it is killed': () => killer(kill) },
      }).find((x) => x.name.includes('mid-command'));
      return c?.run().then(
        () => undefined,
        (e: Error) => e,
      );
    };
    // A kill through a slow program: 300 ms of start-up, then the kill, reported with its time.
    expect(
      await check((kill) => {
        blockFor(300);
        const at = performance.now();
        kill();
        return at;
      }),
    ).toBeUndefined();
    // The same without the time: the slow start-up counts, and the bound is missed.
    const late = await check((kill) => {
      blockFor(300);
      kill();
    });
    expect(late?.message).toMatch(/^noticed within 200 ms \(got \d+\)$/);
    // A time outside the call is refused (a kill must report when it killed, not any number).
    const bogus = await check((kill) => {
      kill();
      return 0;
    });
    expect(bogus?.message).toMatch(/^the kill time lies within the kill call/);
  });

  it('has one dying-server check per kill given, none without', () => {
    const open = async () => stubSession({});
    expect(transportConformanceChecks({ open }).some((c) => /mid-command/.test(c.name))).toBe(false);
    const names = transportConformanceChecks({ open, kills: { 'a killed': () => {}, 'b killed': () => {} } })
      .map((c) => c.name)
      .filter((n) => n.includes('mid-command'));
    expect(names).toEqual([
      'a killed mid-command: Broken within 1000 ms, with a ConnectionError',
      'b killed mid-command: Broken within 1000 ms, with a ConnectionError',
    ]);
  });
});
