import type { Interface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { TerminalHostUi } from './host-ui.ts';

/** A terminal stderr that records what is written to it. */
function tty(rows: number): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY: true,
    rows,
    columns: 80,
    written,
    write(s: string) {
      written.push(s);
      return true;
    },
  } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe('TerminalHostUi progress display under a progress storm', () => {
  it('keeps at most 128 activities (PendingProgress maxNodeCount) and never draws more lines than the screen', () => {
    const stderr = tty(10);
    const ui = new TerminalHostUi(
      { stdin: {} as NodeJS.ReadStream, stdout: tty(10), stderr },
      { colors: false, readline: () => ({}) as Interface },
    );
    const now = Date.now;
    let t = 0;
    Date.now = () => (t += 100); // every record is drawn (past the 50 ms throttle)
    try {
      for (let i = 0; i < 1000; i++)
        ui.writeProgress(0n, {
          activity: `activity ${i}`,
          activityId: i,
          statusDescription: 'working',
          currentOperation: null,
          parentActivityId: -1,
          percentComplete: 50,
          secondsRemaining: -1,
          recordType: 'Processing',
        });
    } finally {
      Date.now = now;
    }
    const draws = stderr.written.filter((w) => w.includes('activity'));
    const last = draws.at(-1) ?? '';
    expect(last.split('\n').filter(Boolean)).toHaveLength(9);
    expect(last).toContain('activity 999');
    expect((ui as unknown as { progress: Map<number, unknown> }).progress.size).toBe(128);
  });
});

describe('TerminalHostUi: what host writes leave on the line, drawn again with the prompt', () => {
  const make = (colors = false) =>
    new TerminalHostUi(
      { stdin: {} as NodeJS.ReadStream, stdout: tty(10), stderr: tty(10) },
      { colors, readline: () => ({}) as Interface },
    );

  it('Write-Host -NoNewline pieces since the last line end, taken once', () => {
    const ui = make();
    ui.writeLine('done');
    ui.write('[a]');
    ui.write('[b]');
    expect(ui.takeLineTail()).toBe('[a][b]');
    expect(ui.takeLineTail()).toBe('');
    ui.write('x\ny');
    expect(ui.takeLineTail()).toBe('y');
  });

  it('colours are kept; an error line, ^C or anything that moves the cursor leaves nothing to draw', () => {
    const ui = make(true);
    ui.write('[git]', 10);
    expect(ui.takeLineTail()).toBe('\x1b[92m[git]\x1b[0m');
    ui.write('[wh]');
    ui.writeErrorLine('boom');
    expect(ui.takeLineTail()).toBe('');
    ui.write('[wh]');
    ui.lineEnded();
    expect(ui.takeLineTail()).toBe('');
    for (const moving of ['a\rb', 'a\tb', 'a\x1b[2Kb', 'a\x1b[1Ab', 'a\x07']) {
      ui.write(moving);
      expect(ui.takeLineTail()).toBe('');
    }
  });

  it('a tail longer than 1024 characters is not drawn again', () => {
    const ui = make();
    ui.write('x'.repeat(1025));
    expect(ui.takeLineTail()).toBe('');
    ui.write('y'.repeat(1024));
    expect(ui.takeLineTail()).toHaveLength(1024);
  });
});
