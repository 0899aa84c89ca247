import { Writable } from 'node:stream';
import type { InvocationEvent } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { type InvocationLike, type Invoker, runInvoke } from './invoke-command.ts';
import { drained, type MainIo } from './io.ts';
import { type ReplShell, runRepl } from './repl.ts';
import type { ReadResult, Terminal } from './terminal/line-terminal.ts';

/** A stream that takes writes only when `release()` is called: a terminal or pipe nobody reads. */
function stuckStream(): { stream: NodeJS.WriteStream; writes: string[]; release(): void } {
  const writes: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk, _enc, cb) {
      writes.push(String(chunk));
      pending.push(cb);
    },
  }) as unknown as NodeJS.WriteStream;
  return {
    stream,
    writes,
    release() {
      for (const cb of pending.splice(0)) cb();
    },
  };
}

/** A command producing `count` events of `kind`, counting how many the reader pulled. */
function producing(
  count: number,
  kind: 'output' | 'warning' | 'error',
): { invoker: Invoker; pulled(): number } {
  let pulled = 0;
  const event = (i: number): InvocationEvent =>
    kind === 'output'
      ? ({ kind: 'output', value: `line ${i} ${'x'.repeat(40)}` } as unknown as InvocationEvent)
      : kind === 'warning'
        ? { kind: 'warning', message: `warn ${i} ${'x'.repeat(40)}` }
        : ({ kind: 'error', record: { message: `err ${i}` } } as unknown as InvocationEvent);
  const inv: InvocationLike = {
    finished: Promise.resolve({ state: 'Completed', reason: undefined }),
    interrupt() {},
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < count; i++) {
        pulled++;
        yield event(i);
      }
    },
  };
  return { invoker: { invoke: () => inv }, pulled: () => pulled };
}

function terminalOn(stderr: NodeJS.WriteStream): Terminal {
  return {
    onInterrupt: () => () => {},
    endCommand() {},
    render(ev: InvocationEvent) {
      if (ev.kind === 'warning') stderr.write(`WARNING: ${ev.message}\n`);
    },
    formatErrorRecord: (r: { message: string }) => r.message,
    formatLocalError: (e: Error) => e.message,
  } as unknown as Terminal;
}

/** The reader comes back: releases both streams until the command has run to its end. */
async function drainUntil<T>(done: Promise<T>, ...streams: { release(): void }[]): Promise<T> {
  let over = false;
  void done.finally(() => {
    over = true;
  });
  while (!over) {
    for (const s of streams) s.release();
    await new Promise((r) => setImmediate(r));
  }
  return done;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('runInvoke waits for a slow stream instead of buffering what the server sends', () => {
  for (const [kind, on] of [
    ['output', 'stdout'],
    ['warning', 'stderr'],
    ['error', 'stderr'],
  ] as const) {
    it(`${kind} records wait for ${on}`, async () => {
      const out = stuckStream();
      const err = stuckStream();
      const io = { stdout: out.stream, stderr: err.stream, env: {} } as unknown as MainIo;
      const cmd = producing(1000, kind);
      const done = runInvoke(cmd.invoker, 'x', { json: false }, io, terminalOn(err.stream));
      await tick();
      // Stuck: only the events that fit before the stream's buffer was full were taken from the session.
      expect(cmd.pulled()).toBeLessThan(5);
      const blocked = on === 'stdout' ? out : err;
      const code = await drainUntil(done, out, err);
      expect(cmd.pulled()).toBe(1000);
      expect(blocked.writes.join('')).toContain(
        kind === 'output' ? 'line 999' : kind === 'warning' ? 'warn 999' : 'err 999',
      );
      expect(code).toBe(kind === 'error' ? 1 : 0);
    });
  }

  it('--json chunks wait for stdout too', async () => {
    const out = stuckStream();
    const err = stuckStream();
    const io = { stdout: out.stream, stderr: err.stream, env: {} } as unknown as MainIo;
    const cmd = producing(200, 'output');
    const done = runInvoke(cmd.invoker, 'x', { json: true }, io, terminalOn(err.stream));
    await tick();
    expect(cmd.pulled()).toBeLessThan(3);
    expect(await drainUntil(done, out, err)).toBe(0);
    expect(out.writes.join('')).toContain('line 199');
  });
});

describe('drained', () => {
  it('is undefined when no stream is full, and waits for the full one', async () => {
    const a = stuckStream();
    const b = stuckStream();
    expect(drained(a.stream, b.stream)).toBeUndefined();
    b.stream.write('x'.repeat(64));
    const wait = drained(a.stream, b.stream);
    expect(wait).toBeInstanceOf(Promise);
    let settled = false;
    void wait?.then(() => {
      settled = true;
    });
    await tick();
    expect(settled).toBe(false);
    b.release();
    await wait;
    expect(settled).toBe(true);
  });

  it('does not wait for a stream that failed or was destroyed (EPIPE never drains)', async () => {
    const a = stuckStream();
    a.stream.write('x'.repeat(64));
    const wait = drained(a.stream);
    a.stream.destroy(new Error('EPIPE'));
    a.stream.on('error', () => {});
    await wait;
    expect(drained(a.stream)).toBeUndefined();
  });
});

describe('the enter loop waits for a slow terminal too', () => {
  it('a command writing faster than stdout takes it is read only as fast as stdout drains', async () => {
    const out = stuckStream();
    const err = stuckStream();
    const io = { stdout: out.stream, stderr: err.stream, env: {} } as unknown as MainIo;
    const cmd = producing(500, 'warning');
    const reads: ReadResult[] = [{ kind: 'line', text: 'flood' }, { kind: 'eof' }];
    const terminal = {
      ...terminalOn(err.stream),
      interactive: false,
      errorCount: 0,
      readCommand: async () => reads.shift() ?? { kind: 'eof' },
      interruptRead() {},
    } as unknown as Terminal;
    const shell: ReplShell = {
      session: { state: 'Opened', onStateChange: () => () => {}, interrupt() {} },
      exitRequested: undefined,
      prompt: async () => 'PS> ',
      run: () => cmd.invoker.invoke({ commands: [] }),
      complete: async () => ({ replacementIndex: 0, replacementLength: 0, matches: [] }) as never,
    };
    const done = runRepl(shell, terminal, io);
    await tick();
    expect(cmd.pulled()).toBeLessThan(5);
    expect(await drainUntil(done, out, err)).toBe(0);
    expect(cmd.pulled()).toBe(500);
    expect(err.writes.join('')).toContain('warn 499');
  });
});
