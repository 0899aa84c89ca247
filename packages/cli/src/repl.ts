import type { CompletionResult, PSRemotingError, SessionState } from '@psremote/core';
import { isPSRemotingError } from '@psremote/core';
import type { InvocationLike } from './invoke-command.ts';
import { drained, EXIT, type MainIo } from './io.ts';
import type { Terminal } from './terminal/line-terminal.ts';
import { failedLineText } from './terminal/render.ts';

/**
 * What the REPL drives: an InteractiveSession over a PSSession of this process, or a session the agent holds
 * (agent/remote-session.ts), whose host calls come back to this terminal.
 */
export interface ReplShell {
  readonly session: {
    readonly state: SessionState;
    onStateChange(listener: (s: SessionState, reason?: PSRemotingError) => void): () => void;
    interrupt(): void;
  };
  readonly exitRequested: number | undefined;
  prompt(): Promise<string>;
  run(line: string): InvocationLike;
  complete(line: string, cursor: number): Promise<CompletionResult>;
}

/** What running one piece of input came to. */
type Ran = { kind: 'done'; failed: boolean } | { kind: 'incomplete' } | { kind: 'exit'; code: number };

/**
 * The interactive loop of `psremote enter`: prompt, read a line, run it as Enter-PSSession does, render what
 * comes back, until `exit`, Exit-PSSession (PopRunspace), SetShouldExit, Ctrl+D, or the session breaks.
 * Input the server finds incomplete (`if ($x) {`, a trailing `+`: an IncompleteParseException) switches to
 * block mode, as PowerShell's console host does: the `>> ` prompt gathers lines until an empty one, then the
 * whole block runs. From a script on stdin a block runs at an empty line only once it is complete (empty lines
 * inside a function body are common there). Returns the process exit status.
 */
export async function runRepl(shell: ReplShell, terminal: Terminal, io: MainIo): Promise<number> {
  const session = shell.session;
  let lastFailed = false;
  let block: string | undefined;
  const offState = session.onStateChange((state, reason) => {
    if (state === 'Broken') terminal.interruptRead();
    if (state === 'Broken' && reason) io.stderr.write(`\n${terminal.formatLocalError(reason)}\n`);
  });

  const run = async (text: string, endOfBlock: boolean): Promise<Ran> => {
    const errorsBefore = terminal.errorCount;
    const inv = shell.run(text);
    // Ctrl+C stops the command; unanswered, or pressed again, it ends the session (exit status 3).
    const offInterrupt = terminal.onInterrupt(() => inv.interrupt());
    try {
      for await (const ev of inv) {
        terminal.render(ev);
        // A slow terminal or pipe holds the next event back (the session's queues are bounded), not this process.
        await drained(io.stdout, io.stderr);
      }
      const end = await inv.finished;
      // ConsoleHost: a remote IncompleteParseException (CategoryInfo.Reason) means "more input", not an error.
      if (!endOfBlock && end.state === 'Failed' && end.reason?.reason === 'IncompleteParseException')
        return { kind: 'incomplete' };
      const failure = failedLineText(end.state, end.reason);
      if (failure !== undefined) terminal.hostUi.writeErrorLine(failure);
      if (shell.exitRequested !== undefined) return { kind: 'exit', code: shell.exitRequested };
      return { kind: 'done', failed: end.state !== 'Completed' || terminal.errorCount > errorsBefore };
    } finally {
      offInterrupt();
      terminal.endCommand();
    }
  };

  try {
    for (;;) {
      if (session.state !== 'Opened') return EXIT.broken;
      // Ctrl+C while the prompt is fetched reaches that command too (a stuck server must not trap the user).
      const offPromptInterrupt = terminal.onInterrupt(() => session.interrupt());
      let prompt: string;
      try {
        prompt = terminal.interactive ? (block !== undefined ? '>> ' : await shell.prompt()) : '';
      } finally {
        offPromptInterrupt();
      }
      if (session.state !== 'Opened') return EXIT.broken;
      const read = await terminal.readCommand(prompt, (line, cursor) => shell.complete(line, cursor));
      if (read.kind === 'interrupt') {
        block = undefined; // Ctrl+C drops a block being typed
        continue;
      }
      let text: string;
      let endOfBlock = false;
      if (read.kind === 'eof') {
        if (block === undefined) break;
        // The input ended inside a block (a script on stdin): run what was gathered.
        text = block;
        endOfBlock = true;
        block = undefined;
      } else if (block !== undefined) {
        if (read.text.trim() !== '') {
          block += `\n${read.text}`;
          continue;
        }
        text = block;
        // At the `>> ` prompt an empty line runs the block as typed (the console host). In a script on stdin an
        // empty line inside a function body is common: a block the server still finds incomplete keeps gathering.
        endOfBlock = terminal.interactive;
        block = undefined;
      } else {
        if (read.text.trim() === '') continue;
        text = read.text;
      }
      if (session.state !== 'Opened') return EXIT.broken;
      let ran: Ran;
      try {
        ran = await run(text, endOfBlock);
      } catch (e) {
        if (isPSRemotingError(e) && (session.state as string) === 'Broken') return EXIT.broken;
        throw e;
      }
      if (ran.kind === 'incomplete') {
        // A script's block that was cut by an empty line keeps it.
        block = read.kind === 'line' && read.text.trim() === '' ? `${text}\n` : text;
        continue;
      }
      // exit / Exit-PSSession / SetShouldExit: the code asked for (0 for a plain exit).
      if (ran.kind === 'exit') return ran.code;
      lastFailed = ran.failed;
      if (read.kind === 'eof') break;
    }
    // Interactive: 0 at Ctrl+D; a script on stdin: 1 when its last command failed or wrote an error.
    return terminal.interactive ? EXIT.ok : lastFailed ? EXIT.failed : EXIT.ok;
  } finally {
    offState();
  }
}
