import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { MainIo } from './io.ts';
import { END_STATUS, ProcessEnd } from './process-end.ts';

function fakeIo(): { io: MainIo; written: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (d) => {
    text += String(d);
  });
  err.on('data', (d) => {
    text += String(d);
  });
  return {
    io: {
      stdin: new PassThrough() as unknown as NodeJS.ReadStream,
      stdout: out as unknown as NodeJS.WriteStream,
      stderr: err as unknown as NodeJS.WriteStream,
      env: {},
    },
    written: () => text,
  };
}

const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
let ends: ProcessEnd[] = [];
afterEach(() => {
  for (const e of ends) e.dispose();
  ends = [];
});
function make(io: MainIo, exits: number[] = []): ProcessEnd {
  const end = new ProcessEnd(io, { boundMs: 60_000, exit: (s) => exits.push(s) });
  ends.push(end);
  return end;
}

describe('ProcessEnd', () => {
  it('a closed stdout (EPIPE) ends with 141, runs the actions once, and mutes both streams', async () => {
    const { io, written } = fakeIo();
    const end = make(io);
    let ran = 0;
    end.onEnd(() => ran++);
    end.io.stdout.write('before\n');
    io.stdout.emit('error', epipe());
    io.stderr.emit('error', epipe());
    expect(end.status).toBe(END_STATUS.SIGPIPE);
    expect(ran).toBe(1);
    let called = false;
    expect(end.io.stderr.write('after\n', () => (called = true))).toBe(true);
    end.io.stdout.write('after\n');
    await new Promise((r) => setImmediate(r));
    expect(called).toBe(true); // a writer waiting for its callback is not left waiting
    expect(written()).toBe('before\n');
  });

  it('SIGTERM and SIGHUP end with 128 + the signal; a second signal exits at once', () => {
    const exits: number[] = [];
    const end = make(fakeIo().io, exits);
    process.emit('SIGHUP', 'SIGHUP');
    expect(end.status).toBe(129);
    expect(exits).toEqual([]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(end.status).toBe(129);
    expect(exits).toEqual([129]);
    const other = make(fakeIo().io);
    expect(other.status).toBe(undefined);
    end.dispose();
    process.emit('SIGTERM', 'SIGTERM');
    expect(other.status).toBe(END_STATUS.SIGTERM);
  });

  it('an action registered after the end runs at once; an unsubscribed one never runs; a throwing one stops nothing', () => {
    const end = make(fakeIo().io);
    const seen: string[] = [];
    const off = end.onEnd(() => seen.push('removed'));
    end.onEnd(() => {
      throw new Error('boom');
    });
    end.onEnd(() => seen.push('kept'));
    off();
    end.end(7);
    end.onEnd(() => seen.push('late'));
    expect(seen).toEqual(['kept', 'late']);
    expect(end.status).toBe(7);
  });

  it('the gated stream is the stream for everything but write', () => {
    const { io } = fakeIo();
    const end = make(io);
    (io.stdout as unknown as { columns: number }).columns = 77;
    expect(end.io.stdout.columns).toBe(77);
    let resized = false;
    end.io.stdout.on('resize', () => (resized = true));
    io.stdout.emit('resize');
    expect(resized).toBe(true);
  });

  it('bounds the ending work: psremote exits when it takes too long', async () => {
    const exits: number[] = [];
    const end = new ProcessEnd(fakeIo().io, { boundMs: 20, exit: (s) => exits.push(s) });
    ends.push(end);
    end.end(143);
    await new Promise((r) => setTimeout(r, 60));
    expect(exits).toEqual([143]);
  });
});
