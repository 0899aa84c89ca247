// Runs the built CLI (packages/cli/dist/bin.js) against the hostile fake pwsh for one scenario and mode, and
// measures it: wall time, peak RSS (VmHWM from /proc/<pid>/status, polled), exit status, what it printed.
// Shared by hostile-server.test.ts (assertions) and measure.mjs (the before/after table).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
export const FAKE_PWSH = fileURLToPath(new URL('./fake-pwsh.mjs', import.meta.url));

const KEEP = 16 * 1024;

/** VmHWM (peak resident set) of a live process in KiB, or undefined once it is gone. */
function peakRssKib(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** True once the process has a child (its server). */
function hasChild(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** Keeps the first and last KEEP characters of a stream and counts the rest. */
function collector() {
  let head = '';
  let tail = '';
  let bytes = 0;
  return {
    push(chunk) {
      bytes += chunk.length;
      const s = chunk.toString('utf8');
      if (head.length < KEEP) head += s.slice(0, KEEP - head.length);
      tail = (tail + s).slice(-KEEP);
    },
    result() {
      return { head, tail, bytes };
    },
  };
}

/**
 * @param {{ scenario: string, mode: 'json' | 'text' | 'enter', capMs?: number, sigintAtMs?: number[],
 *   sigintFrom?: 'server' | 'output', slowReaderMs?: number, closeStdout?: boolean, input?: string }} options
 */
export function runScenario(options) {
  const { scenario, mode } = options;
  const capMs = options.capMs ?? 60_000;
  const args =
    mode === 'enter'
      ? [BIN, 'enter', '--pwsh', FAKE_PWSH]
      : [BIN, 'invoke', '-Command', 'hostile', ...(mode === 'json' ? ['--json'] : []), '--pwsh', FAKE_PWSH];
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HOSTILE_SCENARIO: scenario, NO_COLOR: '1', PSREMOTE_DEBUG: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = collector();
  const err = collector();
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  if (options.closeStdout) {
    // `| head -1`: the reader goes away after the first output.
    child.stdout.once('data', () => child.stdout.destroy());
  }
  if (options.slowReaderMs) {
    // Output faster than the terminal: nobody reads stdout for a while.
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), options.slowReaderMs).unref();
  }
  child.stdin.on('error', () => {});
  if (mode === 'enter') child.stdin.end(options.input ?? 'hostile\n');
  else child.stdin.end();

  let peak = 0;
  const poll = setInterval(() => {
    const k = peakRssKib(child.pid);
    if (k !== undefined && k > peak) peak = k;
  }, 25);
  // Ctrl+C is timed from the moment the CLI has started its server (the fake pwsh, a child process), or from
  // its first output: a SIGINT while node is still loading would test the start-up, not the scenario.
  const timers = [];
  const schedule = () => {
    for (const ms of options.sigintAtMs ?? [])
      timers.push(
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        }, ms),
      );
  };
  if (options.sigintAtMs?.length && options.sigintFrom === 'output') {
    // Timed from the command's first output: the command is running.
    child.stdout.once('data', schedule);
  } else if (options.sigintAtMs?.length) {
    const t0 = Date.now();
    const watch = setInterval(() => {
      if (hasChild(child.pid) || Date.now() - t0 > 15_000 || child.exitCode !== null) {
        clearInterval(watch);
        schedule();
      }
    }, 25);
    timers.push(watch);
  }
  let timedOut = false;
  const cap = setTimeout(() => {
    timedOut = true;
    const k = peakRssKib(child.pid);
    if (k !== undefined && k > peak) peak = k;
    child.kill('SIGKILL');
  }, capMs);

  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(poll);
      clearTimeout(cap);
      for (const t of timers) clearTimeout(t); // clearTimeout clears intervals too
      // Let the pipes drain what the process wrote before it ended.
      const done = () =>
        resolve({
          scenario,
          mode,
          code,
          signal,
          ms: Math.round(ms),
          peakRssMb: Math.round(peak / 1024),
          timedOut,
          stdout: out.result(),
          stderr: err.result(),
        });
      let open = 2;
      const closed = () => {
        if (--open === 0) done();
      };
      if (child.stdout.readableEnded || child.stdout.destroyed) closed();
      else child.stdout.once('close', closed);
      if (child.stderr.readableEnded || child.stderr.destroyed) closed();
      else child.stderr.once('close', closed);
      setTimeout(done, 2000).unref();
    });
  });
}
