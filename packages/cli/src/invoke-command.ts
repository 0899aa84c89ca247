import type { InvocationEvent, PSSession } from '@psremote/core';
import { isPSRemotingError, psValueText } from '@psremote/core';
import type { ErrorRecordInfo, PipelineSpec } from '@psremote/psrp';
import { drained, EXIT, type MainIo } from './io.ts';
import { psValueJsonChunks } from './ps-json.ts';
import type { Terminal } from './terminal/line-terminal.ts';

/**
 * `psremote invoke <target> -Command '<script>' [--json]`: one command for scripts. Text mode formats on
 * the server (`Out-String -Stream`, as PowerShell would show it); --json prints each output object as one JSON
 * line. Errors and other streams go to stderr. Exit status 1 when the command wrote an error or failed.
 */
/** What runInvoke runs on: a PSSession, or a session held by the agent (agent/remote-session.ts). */
export interface Invoker {
  invoke(spec: PipelineSpec): InvocationLike;
}

/** What runInvoke and the REPL read from a running command. */
export interface InvocationLike extends AsyncIterable<InvocationEvent> {
  readonly finished: Promise<{ readonly state: string; readonly reason: ErrorRecordInfo | undefined }>;
  interrupt(): void;
}

/** The pipeline `psremote invoke` runs: the script, then (text mode) Out-String -Stream at the terminal's width. */
export function invokeSpec(script: string, json: boolean, width: number): PipelineSpec {
  return json
    ? { commands: [{ command: script, isScript: true }] }
    : {
        commands: [
          { command: script, isScript: true },
          {
            command: 'Out-String',
            isScript: false,
            parameters: [
              { name: 'Stream', value: true },
              { name: 'Width', value: width },
            ],
          },
        ],
      };
}

export async function runInvoke(
  session: Invoker | PSSession,
  script: string,
  options: { json: boolean },
  io: MainIo,
  terminal: Terminal,
): Promise<number> {
  const width = io.stdout.columns && io.stdout.columns > 20 ? io.stdout.columns : 120;
  const inv: InvocationLike = session.invoke(invokeSpec(script, options.json, width));
  // Ctrl+C stops the command; unanswered, or pressed again, it ends the session (exit status 3).
  const offInterrupt = terminal.onInterrupt(() => inv.interrupt());
  let errors = 0;
  // A closed stdout (EPIPE: `| head`) is ProcessEnd's: it stops this command (terminal.stopAll) and drops what
  // is written after, so the loop below only drains the stopped command's last events.
  try {
    for await (const ev of inv) {
      switch (ev.kind) {
        case 'output':
          // Output waits for stdout (a slow terminal or pipe): what the server sends faster stays in the
          // session's bounded queues instead of piling up in this process.
          if (options.json) {
            for (const chunk of psValueJsonChunks(ev.value)) {
              io.stdout.write(chunk);
              await drained(io.stdout);
            }
            io.stdout.write('\n');
          } else io.stdout.write(`${psValueText(ev.value)}\n`);
          break;
        case 'error':
          errors++;
          io.stderr.write(`${terminal.formatErrorRecord(ev.record)}\n`);
          break;
        default:
          terminal.render(ev);
      }
      // Errors, warnings, verbose and progress wait for a slow stderr as output waits for stdout.
      await drained(io.stdout, io.stderr);
    }
    const end = await inv.finished;
    if (end.state === 'Failed') {
      if (end.reason) io.stderr.write(`${terminal.formatErrorRecord(end.reason)}\n`);
      return EXIT.failed;
    }
    return end.state === 'Completed' && errors === 0 ? EXIT.ok : EXIT.failed;
  } catch (e) {
    if (isPSRemotingError(e)) {
      io.stderr.write(`${terminal.formatLocalError(e)}\n`);
      return EXIT.broken;
    }
    throw e;
  } finally {
    offInterrupt();
    terminal.endCommand();
  }
}
