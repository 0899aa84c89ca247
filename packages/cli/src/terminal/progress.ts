import type { ProgressRecord } from '@psremote/core';

/** PendingProgress.cs maxNodeCount. */
const MAX_PROGRESS_ACTIVITIES = 128;

/** A progress bar per activity on stderr, redrawn in place, cleared when the last one completes. */
export class ProgressDisplay {
  private readonly err: NodeJS.WriteStream;
  private readonly colors: boolean;
  private readonly progress = new Map<number, ProgressRecord>();
  private progressLines = 0;
  private lastProgressDraw = 0;

  constructor(err: NodeJS.WriteStream, colors: boolean) {
    this.err = err;
    this.colors = colors;
  }

  /** The activities held (at most MAX_PROGRESS_ACTIVITIES), shown or not. */
  get size(): number {
    return this.progress.size;
  }

  update(record: ProgressRecord): void {
    if (record.recordType === 'Completed') this.progress.delete(record.activityId);
    else {
      this.progress.set(record.activityId, record);
      // PendingProgress.cs keeps at most 128 activities (maxNodeCount) and evicts the oldest: a server that
      // sends a new activity per record cannot grow the display without bound.
      while (this.progress.size > MAX_PROGRESS_ACTIVITIES) {
        const oldest = this.progress.keys().next().value as number;
        this.progress.delete(oldest);
      }
    }
    const err = this.err;
    if (!err.isTTY) return;
    const now = Date.now();
    if (this.progress.size > 0 && now - this.lastProgressDraw < 50 && record.recordType !== 'Completed')
      return;
    this.lastProgressDraw = now;
    this.clear();
    if (this.progress.size === 0) return;
    // One screen line per activity, never wrapped (a wrapped line would break the redraw in place).
    const width = Math.max(1, (err.columns || 80) - 1);
    const barWidth = width >= 60 ? 30 : Math.max(5, Math.floor(width / 4));
    const lines: string[] = [];
    // Never more lines than the screen holds (less one for the cursor): the latest activities.
    const room = Math.max(1, (err.rows || 24) - 1);
    const shown = [...this.progress.values()].slice(-room);
    for (const r of shown) {
      const indent = r.parentActivityId >= 0 ? '  ' : '';
      const pct = r.percentComplete >= 0 ? Math.min(100, r.percentComplete) : -1;
      const filled = pct >= 0 ? Math.round((pct / 100) * barWidth) : 0;
      const bar = pct >= 0 ? `[${'o'.repeat(filled)}${' '.repeat(barWidth - filled)}] ${pct}%` : '';
      const line = `${indent}${r.activity} ${bar} ${r.statusDescription}`.slice(0, width);
      lines.push(this.colors ? `\x1b[7m${line}\x1b[0m` : line);
    }
    err.write(`${lines.join('\n')}\n`);
    this.progressLines = lines.length;
  }

  /** Takes the bars off the screen (other text is about to be written); they come back at the next update. */
  clear(): void {
    if (this.progressLines === 0) return;
    this.err.write(`\x1b[${this.progressLines}A\x1b[J`);
    this.progressLines = 0;
  }

  /** A command ended: progress bars it left (stopped before reporting Completed) are cleared. */
  reset(): void {
    this.progress.clear();
    this.clear();
  }
}
