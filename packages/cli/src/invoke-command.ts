import type { PSSession } from '@psremote/core';
import { isPSRemotingError } from '@psremote/core';
import type { MainIo } from './main.ts';
import { psValueToJson } from './ps-json.ts';
import type { Terminal } from './terminal-adapter.ts';

/**
 * `psremote invoke <target> -Command '<script>' [--json]`: one command for scripts. Text mode formats on
 * the server (`Out-String -Stream`, as PowerShell would show it); --json prints each output object as one JSON
 * line. Errors and other streams go to stderr. Exit status 1 when the command wrote an error or failed.
 */
export async function runInvoke(
  session: PSSession,
  script: string,
  options: { json: boolean },
  io: MainIo,
  terminal: Terminal,
): Promise<number> {
  const width = io.stdout.columns && io.stdout.columns > 20 ? io.stdout.columns : 120;
  const inv = session.invoke(
    options.json
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
        },
  );
  // Ctrl+C stops the command; unanswered, or pressed again, it ends the session (exit status 3).
  const offInterrupt = terminal.onInterrupt(() => inv.interrupt());
  let errors = 0;
  try {
    for await (const ev of inv) {
      switch (ev.kind) {
        case 'output':
          io.stdout.write(
            options.json ? `${JSON.stringify(psValueToJson(ev.value))}\n` : `${String(ev.value ?? '')}\n`,
          );
          break;
        case 'error':
          errors++;
          io.stderr.write(`${terminal.formatErrorRecord(ev.record)}\n`);
          break;
        default:
          terminal.render(ev);
      }
    }
    const end = await inv.finished;
    if (end.state === 'Failed') {
      if (end.reason) io.stderr.write(`${terminal.formatErrorRecord(end.reason)}\n`);
      return 1;
    }
    return end.state === 'Completed' && errors === 0 ? 0 : 1;
  } catch (e) {
    if (isPSRemotingError(e)) {
      io.stderr.write(`${terminal.formatLocalError(e)}\n`);
      return 3;
    }
    throw e;
  } finally {
    offInterrupt();
    terminal.endCommand();
  }
}
