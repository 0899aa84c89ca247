import type { InteractiveSession } from '@psremote/core';
import { isPSRemotingError } from '@psremote/core';
import type { MainIo } from './main.ts';
import type { Terminal } from './terminal-adapter.ts';

/**
 * The interactive loop of `psremote enter`: prompt, read a line, run it as Enter-PSSession does, render what
 * comes back, until `exit`, Exit-PSSession (PopRunspace), SetShouldExit, Ctrl+D, or the session breaks.
 * Returns the process exit status.
 */
export async function runRepl(shell: InteractiveSession, terminal: Terminal, io: MainIo): Promise<number> {
  const session = shell.session;
  let lastFailed = false;
  const offState = session.onStateChange((state, reason) => {
    if (state === 'Broken') terminal.interruptRead();
    if (state === 'Broken' && reason) io.stderr.write(`\n${terminal.formatLocalError(reason)}\n`);
  });
  try {
    for (;;) {
      if (session.state !== 'Opened') return 3;
      const prompt = terminal.interactive ? await shell.prompt() : '';
      const read = await terminal.readCommand(prompt, (line, cursor) => shell.complete(line, cursor));
      if (read.kind === 'eof') break;
      if (read.kind === 'interrupt') continue;
      if (session.state !== 'Opened') return 3;
      if (read.text.trim() === '') continue;

      const errorsBefore = terminal.errorCount;
      const inv = shell.run(read.text);
      const offInterrupt = terminal.onInterrupt(() => void inv.stop().catch(() => {}));
      try {
        for await (const ev of inv) terminal.render(ev);
        const end = await inv.finished;
        if (end.state === 'Failed' && end.reason) terminal.hostUi.writeErrorLine(end.reason.message);
        lastFailed = end.state !== 'Completed' || terminal.errorCount > errorsBefore;
      } catch (e) {
        if (isPSRemotingError(e) && (session.state as string) === 'Broken') return 3;
        throw e;
      } finally {
        offInterrupt();
        terminal.endCommand();
      }
      if (shell.exitRequested !== undefined)
        return terminal.interactive ? shell.exitRequested : lastFailed ? 1 : 0;
    }
    return terminal.interactive ? 0 : lastFailed ? 1 : 0;
  } finally {
    offState();
  }
}
