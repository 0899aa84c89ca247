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
