import { isPSRemotingError } from '../errors/ps-remoting-error.ts';
import type { PSSession } from '../session/session.ts';

/**
 * The transport conformance kit: what every transport must do once its connection carries PSRP, checked on a live
 * session against a real server. Runner-neutral (no test framework imported): each check is a name and an async
 * function that throws an Error saying what went wrong. With vitest:
 *
 *   for (const c of transportConformanceChecks({ open, kills })) it(c.name, c.run, 30_000);
 */
export interface ConformanceOptions {
  /** Opens a new session through the transport under test (each check that needs its own session calls it). */
  open(): Promise<PSSession>;
  /**
   * Ways to kill the server side of a session abruptly, by what they kill (`pid` is the remote pwsh's $PID):
   * `{ 'the remote pwsh is killed': (s, pid) => ..., 'the sshd is killed': ... }`, one check each. Without them
   * the checks of a dying server are left out. The time to notice is measured from the kill: from the call, or,
   * when a kill returns a number, from that `performance.now()` time, the moment the kill was made. A kill made
   * through another program (`podman exec ... kill`) returns it, so that the program's own start-up and clean-up,
   * which can take longer than the bound on a loaded machine, are not counted against the transport.
   */
  kills?: Readonly<Record<string, ConformanceKill>>;
  /** How soon a stopped pipeline or a dead server must be noticed (default 1000 ms, issue 5's bound). */
  withinMs?: number;
  /**
   * How soon a session that ran commands must be closed (default 3000 ms): well under the 10 s a close waits for
   * a server's acknowledgement before giving up, so a close that was never acknowledged fails.
   */
  closeWithinMs?: number;
}

/**
 * Kills the server side of `session` (`pid`: the remote pwsh's $PID). May resolve to the `performance.now()` time
 * the kill was made (a number); anything else: the check measures from the call.
 */
export type ConformanceKill = (session: PSSession, pid: number) => Promise<unknown> | unknown;

export interface ConformanceCheck {
  readonly name: string;
  run(): Promise<void>;
}

class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

function check(ok: boolean, what: string, got?: unknown): void {
  if (!ok) throw new ConformanceError(got === undefined ? what : `${what} (got ${describe(got)})`);
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}...` : s;
  } catch {
    return String(v);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a ConformanceError saying what never happened once `ms` have passed (a transport must not hang). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` on a session of its own, closing it afterwards whatever happens. */
async function withSession(o: ConformanceOptions, body: (s: PSSession) => Promise<void>): Promise<void> {
  const s = await o.open();
  try {
    await body(s);
  } finally {
    await s.close().catch(() => undefined);
  }
}

export function transportConformanceChecks(o: ConformanceOptions): ConformanceCheck[] {
  const limitMs = o.withinMs ?? 1000;
  const closeMs = o.closeWithinMs ?? 3000;
  const checks: ConformanceCheck[] = [
    {
      name: 'opens: Opened and Available, protocol negotiated',
      run: () =>
        withSession(o, async (s) => {
          check(s.state === 'Opened', 'the session is Opened', s.state);
          check(s.availability === 'Available', 'the session is Available', s.availability);
          check(
            /^2\.\d+$/.test(s.protocolVersion ?? ''),
            'a protocol version was negotiated',
            s.protocolVersion,
          );
        }),
    },
    {
      name: 'round trip: 1..5 as five Int32s in order; input objects reach the pipeline',
      run: () =>
        withSession(o, async (s) => {
          const r = await s.invoke('1..5').result();
          check(r.state === 'Completed', '1..5 completes', r.state);
          check(describe(r.output) === '[1,2,3,4,5]', '1..5 gives 1,2,3,4,5', r.output);
          const i = await s.invoke('$input | ForEach-Object { $_ * 2 }', { input: [1, 2, 3] }).result();
          check(describe(i.output) === '[2,4,6]', 'input 1,2,3 doubled gives 2,4,6', i.output);
        }),
    },
    {
      name: 'large data both ways: a 200 KB script in, a 1.5 MB string and 50000 ordered objects out',
      run: () =>
        withSession(o, async (s) => {
          const script = `# ${'p'.repeat(200_000)}\n'x' * 1500000; 1..50000`;
          let n = 0;
          let inOrder = true;
          let big: unknown;
          for await (const v of s.invoke(script).output()) {
            if (n === 0) big = v;
            else if (v !== n) inOrder = false;
            n++;
          }
          check(typeof big === 'string' && big.length === 1_500_000, 'the 1.5 MB string arrives whole');
          check(n === 50_001, '50000 numbers follow it', n - 1);
          check(inOrder, 'the numbers arrive in order');
        }),
    },
    {
      name: 'streams: an error record with its FullyQualifiedErrorId, a warning, a terminating error',
      run: () =>
        withSession(o, async (s) => {
          const r = await s
            .invoke("Write-Error 'kit-err' -ErrorId KitId; Write-Warning 'kit-warn'; 'after'")
            .result();
          check(r.errors.length === 1, 'one error record', r.errors.length);
          check(
            (r.errors[0]?.fullyQualifiedErrorId ?? '').startsWith('KitId'),
            'its FullyQualifiedErrorId',
            r.errors[0]?.fullyQualifiedErrorId,
          );
          check(describe(r.warnings) === '["kit-warn"]', 'the warning', r.warnings);
          check(describe(r.output) === '["after"]', 'output after a non-terminating error', r.output);
          const t = await s.invoke("throw 'kit-throw'").result();
          check(t.state === 'Failed', 'a terminating error fails the pipeline', t.state);
          check((t.reason?.message ?? '').includes('kit-throw'), 'with its message as the reason', t.reason);
        }),
    },
    {
      name: `stop: a running pipeline is Stopped within ${limitMs} ms and the session stays usable`,
      run: () =>
        withSession(o, async (s) => {
          const inv = s.invoke('while ($true) { }');
          await sleep(300);
          const t0 = performance.now();
          await within(inv.stop(), 5 * limitMs, 'stop()');
          const r = await within(inv.result(), 5 * limitMs, 'the end of the stopped pipeline');
          const ms = performance.now() - t0;
          check(r.state === 'Stopped', 'the pipeline is Stopped', r.state);
          check(ms < limitMs, `stopped within ${limitMs} ms`, Math.round(ms));
          check(describe((await s.invoke('6*7').result()).output) === '[42]', 'the next command works');
          check(s.availability === 'Available', 'the session is Available again', s.availability);
        }),
    },
    {
      name: 'close: Closed, idempotent, and a new command is refused',
      run: async () => {
        const s = await o.open();
        await s.close();
        check(s.state === 'Closed', 'the session is Closed', s.state);
        await s.close();
        let refused = false;
        try {
          s.invoke('1');
        } catch {
          refused = true;
        }
        check(refused, 'invoke on a closed session throws');
      },
    },
    {
      name: `close after ten commands: Closed within ${closeMs} ms (acknowledged, not given up on)`,
      run: async () => {
        const s = await o.open();
        try {
          for (let i = 0; i < 10; i++) {
            const r = await s.invoke('6*7').result();
            check(r.state === 'Completed' && r.output[0] === 42, `command ${i} Completed with 42`, r);
          }
        } catch (e) {
          await s.close().catch(() => undefined);
          throw e;
        }
        const started = Date.now();
        await within(s.close(), closeMs, 'close after ten commands');
        check(s.state === 'Closed', 'the session is Closed', s.state);
        check(Date.now() - started < closeMs, `close took under ${closeMs} ms`, Date.now() - started);
      },
    },
  ];
  for (const [what, kill] of Object.entries(o.kills ?? {})) {
    checks.push({
      name: `${what} mid-command: Broken within ${limitMs} ms, with a ConnectionError`,
      run: async () => {
        const s = await o.open();
        try {
          const pid = (await s.invoke('$PID').result()).output[0];
          check(typeof pid === 'number', 'the remote $PID', pid);
          const inv = s.invoke('while ($true) { Start-Sleep -Milliseconds 50 }');
          await sleep(200);
          const called = performance.now();
          const killedAt = await kill(s, pid as number);
          const t0 = typeof killedAt === 'number' ? killedAt : called;
          check(t0 >= called - 5 && t0 <= performance.now() + 5, 'the kill time lies within the kill call', {
            called,
            killedAt,
          });
          const err = await within(
            inv.result().then(
              () => undefined,
              (e: unknown) => e,
            ),
            5 * limitMs,
            'the end of the running command',
          );
          await within(s.whenEnded, 5 * limitMs, 'the end of the session');
          const ms = performance.now() - t0;
          check(s.state === 'Broken', 'the session is Broken', s.state);
          check(isPSRemotingError(err), 'the running command fails with a PSRemotingError', err);
          check(
            s.reason?.category === 'ConnectionError',
            'the reason is a ConnectionError',
            s.reason?.category,
          );
          check(ms < limitMs, `noticed within ${limitMs} ms`, Math.round(ms));
        } finally {
          await s.close().catch(() => undefined);
        }
      },
    });
  }
  return checks;
}
