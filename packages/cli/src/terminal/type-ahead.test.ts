import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type KeyReader, TypeAhead } from './type-ahead.ts';

class FakeStdin extends EventEmitter {
  raw = false;
  flowing = false;
  setRawMode(mode: boolean): this {
    this.raw = mode;
    return this;
  }
  resume(): this {
    this.flowing = true;
    return this;
  }
  pause(): this {
    this.flowing = false;
    return this;
  }
  type(text: string | Buffer): void {
    this.emit('data', typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  }
}

/** A reader that takes keys until Enter, then releases (as a line reader does). */
function lineReader(keys: TypeAhead): { keys: string[]; line: Promise<string>; ended: () => boolean } {
  const taken: string[] = [];
  let ended = false;
  let release = (): void => {};
  const line = new Promise<string>((resolve) => {
    const reader: KeyReader = {
      take: (k) => {
        taken.push(k);
        if (k === '\r' || k === '\n' || k === '\r\n') {
          release();
          resolve(taken.slice(0, -1).join(''));
        }
      },
      end: () => {
        ended = true;
        resolve('<end>');
      },
    };
    release = keys.read(reader);
  });
  return { keys: taken, line, ended: () => ended };
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(commandRuns = () => false) {
  const stdin = new FakeStdin();
  const interrupts: number[] = [];
  const keys = new TypeAhead(stdin, () => {
    if (!commandRuns()) return false;
    interrupts.push(Date.now());
    return true;
  });
  return { stdin, keys, interrupts };
}

describe('TypeAhead: keys typed before their reader comes wait for it', () => {
  it('takes the terminal in raw mode and gives it back on close', () => {
    const { stdin, keys } = setup();
    keys.start();
    expect(stdin.raw).toBe(true);
    expect(stdin.flowing).toBe(true);
    keys.close();
    expect(stdin.raw).toBe(false);
    expect(stdin.flowing).toBe(false);
    expect(stdin.listenerCount('data')).toBe(0);
  });

  it('two lines pasted at once: each reader takes one line, the rest waits', async () => {
    const { stdin, keys } = setup();
    keys.start();
    stdin.type("'first'\r'second'\rRead");
    expect(keys.pending).toBe(true);
    expect(await lineReader(keys).line).toBe("'first'");
    expect(await lineReader(keys).line).toBe("'second'");
    const third = lineReader(keys);
    await tick();
    expect(third.keys.join('')).toBe('Read');
    expect(keys.pending).toBe(false);
    stdin.type('-Host\r');
    expect(await third.line).toBe('Read-Host');
  });

  it('hands over whole keys: escape sequences, CR LF as one Enter, UTF-8 split across reads', async () => {
    const { stdin, keys } = setup();
    keys.start();
    stdin.type('a\x1b[A\x1b[3~b\r\nc\r');
    const r = lineReader(keys);
    expect(await r.line).toBe('a\x1b[A\x1b[3~b');
    expect(r.keys).toEqual(['a', '\x1b[A', '\x1b[3~', 'b', '\r\n']);
    const euro = Buffer.from('€\r', 'utf8');
    const next = lineReader(keys);
    expect(await next.line).toBe('c');
    const last = lineReader(keys);
    stdin.type(euro.subarray(0, 1));
    stdin.type(euro.subarray(1));
    expect(await last.line).toBe('€');
  });

  it('tells a key that came with others in one read (pasted) from one read alone (typed)', () => {
    const { stdin, keys } = setup();
    const taken: [string, boolean][] = [];
    keys.read({ take: (k, pasted) => taken.push([k, pasted]), end: () => {} });
    stdin.type('\tx');
    stdin.type('\t');
    stdin.type('y\x1b[A');
    expect(taken).toEqual([
      ['\t', true],
      ['x', false],
      ['\t', false],
      ['y', true],
      ['\x1b[A', false],
    ]);
  });

  it('a reader that comes while another reads takes the keys first; then the one under it reads on', async () => {
    const { stdin, keys } = setup();
    const editor: string[] = [];
    keys.read({ take: (k) => editor.push(k), end: () => {} });
    await tick();
    stdin.type('Get-');
    const question = lineReader(keys); // a runspace-pool prompt while the line editor waits at the prompt
    await tick();
    stdin.type('yes\rIt');
    expect(await question.line).toBe('yes');
    expect(editor.join('')).toBe('Get-It');
  });

  it('a busy reader (a completion on its way) gets no keys until it is ready again', async () => {
    const { stdin, keys } = setup();
    const taken: string[] = [];
    let busy = false;
    keys.read({
      take: (k) => {
        taken.push(k);
        if (k === '\t') busy = true;
      },
      get busy() {
        return busy;
      },
      end: () => {},
    });
    stdin.type('ab\tcd');
    expect(taken).toEqual(['a', 'b', '\t']);
    busy = false;
    keys.pump();
    expect(taken).toEqual(['a', 'b', '\t', 'c', 'd']);
  });

  it('a reader that takes keys gets Ctrl+C in order; the command is not interrupted from here', async () => {
    const { stdin, keys, interrupts } = setup(() => true);
    const r = lineReader(keys);
    await tick();
    stdin.type('ab\x03');
    expect(r.keys).toEqual(['a', 'b', '\x03']);
    expect(interrupts).toHaveLength(0);
  });

  it('Ctrl+C while a command runs interrupts it and discards what was typed before it (ISIG); later keys stay', async () => {
    const { stdin, keys, interrupts } = setup(() => true);
    keys.start();
    stdin.type("'typed ahead'\r");
    stdin.type('\x03');
    expect(interrupts).toHaveLength(1);
    expect(keys.pending).toBe(false);
    stdin.type("ok\x03'after'\r");
    expect(interrupts).toHaveLength(2);
    expect(await lineReader(keys).line).toBe("'after'");
  });

  it('Ctrl+C with no command to interrupt is kept for the next reader (the line editor clears its line)', async () => {
    const { stdin, keys, interrupts } = setup(() => false);
    keys.start();
    stdin.type('half a line\x03next\r');
    const r = lineReader(keys);
    expect(await r.line).toBe('\x03next');
    expect(interrupts).toHaveLength(0);
  });

  it('Ctrl+C while the reader is busy cancels the wait; the reader then takes the Ctrl+C, not the keys before it', () => {
    const { stdin, keys, interrupts } = setup(() => false);
    const taken: string[] = [];
    let busy = false;
    let cancelled = 0;
    keys.read({
      take: (k) => {
        taken.push(k);
        if (k === '\t') busy = true;
      },
      get busy() {
        return busy;
      },
      cancelBusy: () => {
        cancelled++;
        busy = false;
      },
      end: () => {},
    });
    stdin.type('x\tlost\x03kept');
    expect(cancelled).toBe(1);
    expect(taken).toEqual(['x', '\t', '\x03', 'k', 'e', 'p', 't']);
    expect(interrupts).toHaveLength(0);
  });

  it('flush discards type-ahead (RawUI.FlushInputBuffer); pending says whether a key waits (KeyAvailable)', () => {
    const { stdin, keys } = setup();
    keys.start();
    expect(keys.pending).toBe(false);
    stdin.type('y');
    expect(keys.pending).toBe(true);
    keys.flush();
    expect(keys.pending).toBe(false);
  });

  it('at the end of input a reader gets what is left, then end; a later reader gets end at once', async () => {
    const { stdin, keys } = setup();
    keys.start();
    stdin.type('last\r');
    stdin.emit('end');
    expect(await lineReader(keys).line).toBe('last');
    const after = lineReader(keys);
    expect(await after.line).toBe('<end>');
    expect(after.ended()).toBe(true);
  });
});
