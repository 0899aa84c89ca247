import type { Writable } from 'node:stream';
import type { EarlyAgent } from './fast-path.ts';

/** The process's streams and environment as main and the commands use them (run.ts passes the real ones). */
export interface MainIo {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** bin.js's connection to the agent, opened before the CLI was loaded (`psremote enter -Name web`). */
  readonly early?: EarlyAgent;
}

/**
 * Every exit status psremote gives. 0 ok; 1 the session could not be opened (OpenTimeout, Ctrl+C while
 * connecting), the last command failed, or psremote failed itself; 2 bad arguments; 3 the session broke
 * (including a session Ctrl+C had to end, and a receive limit). When psremote is made to end early: 128 + the
 * signal's number, what a shell reports for a program the signal ended (process-end.ts): SIGHUP 129, SIGPIPE 141
 * (a closed stdout or stderr), SIGTERM 143.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  broken: 3,
  hangup: 128 + 1,
  brokenPipe: 128 + 13,
  terminated: 128 + 15,
} as const;

/**
 * Waits until every stream whose buffer is full has drained (or ended or failed), so what a server sends faster
 * than a slow terminal or pipe takes it stays in the session's bounded queues instead of piling up in this
 * process. On Linux, pipe and terminal writes are synchronous and this is never waited for; on macOS pipes and on
 * Windows terminals they are not. Undefined when nothing has to be waited for (no tick lost).
 */
export function drained(...streams: Writable[]): Promise<void> | undefined {
  const waits: Promise<void>[] = [];
  for (const s of streams) {
    // A stream that already failed or closed never drains (EPIPE): nothing to wait for.
    if (!s.writableNeedDrain || s.destroyed || s.writableEnded) continue;
    waits.push(
      new Promise((resolve) => {
        const done = (): void => {
          s.off('drain', done);
          s.off('close', done);
          s.off('error', done);
          resolve();
        };
        s.once('drain', done);
        s.once('close', done);
        s.once('error', done);
      }),
    );
  }
  if (waits.length === 0) return undefined;
  return Promise.all(waits).then(() => undefined);
}
