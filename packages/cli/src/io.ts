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
