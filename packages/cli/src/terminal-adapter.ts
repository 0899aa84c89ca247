import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { CompletionResult, HostUi, InvocationEvent, PSRemotingError } from '@psremote/core';
import type { ErrorRecordInfo } from '@psremote/psrp';
import type { MainIo } from './main.ts';
import { appendPrivateFile } from './private-file.ts';
import { type EditState, TabCycle } from './tab-cycle.ts';
import { TerminalHostUi } from './terminal-host-ui.ts';

interface KeyInfo {
  readonly name?: string;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly shift?: boolean;
}

export type ReadResult = { kind: 'line'; text: string } | { kind: 'eof' } | { kind: 'interrupt' };

/** What the REPL needs from the terminal. */
export interface Terminal {
  readonly hostUi: HostUi;
  readonly interactive: boolean;
  /** Error lines written so far (WriteErrorLine and rendered error records): the exit status uses it. */
  readonly errorCount: number;
  readCommand(
    prompt: string,
    complete: (line: string, cursor: number) => Promise<CompletionResult>,
  ): Promise<ReadResult>;
  /** Cancels a pending readCommand (the session broke). */
  interruptRead(): void;
  /** The process is ending (a signal, a closed stdout): stops what runs as Ctrl+C would, ends a pending read. */
  stopAll(): void;
  /** Keeps the command history of this target (under the user's state directory). */
  useHistory(target: string): void;
  /** Ctrl+C while a command runs or while connecting; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
  /** A command ended (whatever its state): clears what it left on the terminal (progress bars). */
  endCommand(): void;
  render(event: InvocationEvent): void;
  formatErrorRecord(record: ErrorRecordInfo): string;
  formatLocalError(error: PSRemotingError): string;
  close(): void;
}

export function createTerminal(io: MainIo, options: { noColor: boolean }): Terminal {
  return new LineTerminal(io, options);
}

/** $XDG_STATE_HOME/psremote, else ~/.local/state/psremote; on Windows %LOCALAPPDATA%\\psremote. */
export function stateDirectory(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'psremote');
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'psremote');
  return join(env.HOME ?? homedir(), '.local', 'state', 'psremote');
}

/** Lines of history kept for a target; the file is cut back to them once it holds twice as many. */
export const HISTORY_SIZE = 1000;

/**
 * The history of a target, newest first (readline's order), at most HISTORY_SIZE entries. A file grown past twice
 * that is rewritten with its newest HISTORY_SIZE lines, so it never grows without bound.
 */
export function loadHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
  if (lines.length > 2 * HISTORY_SIZE) {
    lines = lines.slice(-HISTORY_SIZE);
    try {
      writeFileSync(file, `${lines.join('\n')}\n`);
    } catch {
      // a read-only history stays as it is
    }
  }
  return lines.reverse().slice(0, HISTORY_SIZE);
}

/** The terminal of `psremote enter`: readline for editing, history and completion; TerminalHostUi for the rest. */
class LineTerminal implements Terminal {
  readonly hostUi: TerminalHostUi;
  readonly interactive: boolean;
  private rl: Interface | undefined;
  private readonly interruptHandlers = new Set<() => void>();
  private pendingRead: ((r: ReadResult) => void) | undefined;
  private readonly io: MainIo;
  private readonly queued: string[] = [];
  private inputClosed = false;
  private historyFile: string | undefined;
  private completer: ((line: string, cursor: number) => Promise<CompletionResult>) | undefined;
  private readonly tabs = new TabCycle();
  /** Lines entered so far: a completion answer for an earlier line is dropped. */
  private lineCount = 0;
  /** stopAll was called: the process is ending, no more commands are read (not even typed-ahead ones). */
  private ended = false;

  constructor(io: MainIo, options: { noColor: boolean }) {
    this.io = io;
    this.interactive = Boolean(io.stdin.isTTY);
    const colors = !options.noColor && !io.env.NO_COLOR && Boolean(io.stdout.isTTY) && io.env.TERM !== 'dumb';
    this.hostUi = new TerminalHostUi(io, {
      colors,
      readline: () => this.lines(),
      suspendReadline: () => this.suspend(),
      interrupt: () => {
        if (this.interruptHandlers.size === 0) return false;
        this.onSigint();
        return true;
      },
    });
    process.on('SIGINT', this.onSigint);
  }

  get errorCount(): number {
    return this.hostUi.errors;
  }

  /** Keeps history per target under the state directory. */
  useHistory(target: string): void {
    const safe = target.replace(/[^A-Za-z0-9@._-]/g, '_') || 'localhost';
    this.historyFile = join(stateDirectory(this.io.env), 'history', `${safe}.txt`);
    // A readline opened before the target was known (a host-key question while connecting) gets it now.
    this.savedHistory = undefined;
    const rl = this.rl as (Interface & { history?: string[] }) | undefined;
    if (rl && this.interactive) rl.history = loadHistory(this.historyFile);
  }

  private readonly onSigint = (): void => {
    for (const h of this.interruptHandlers) h();
  };

  private suspending = false;
  private savedHistory: string[] | undefined;

  /** Closes readline for a while (masked input, ReadKey read the terminal themselves); lines() reopens it. */
  private suspend(): void {
    const rl = this.rl;
    if (!rl) return;
    this.tabs.reset();
    this.savedHistory = [...((rl as Interface & { history?: string[] }).history ?? [])];
    this.suspending = true;
    rl.close();
    this.suspending = false;
    this.rl = undefined;
  }

  private lines(): Interface {
    if (this.rl) return this.rl;
    let history: string[] = this.savedHistory ?? [];
    if (!this.savedHistory && this.interactive && this.historyFile) history = loadHistory(this.historyFile);
    const rl = createInterface({
      input: this.io.stdin,
      output: this.interactive ? this.io.stdout : undefined,
      terminal: this.interactive,
      history,
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      // Tab is ours (onKey): readline's completer can only append, and PowerShell replaces a range and cycles.
      completer: this.interactive
        ? (line: string, cb: (err: Error | null, result: [string[], string]) => void) => cb(null, [[], line])
        : undefined,
    });
    if (this.interactive) {
      const onKey = (_s: string | undefined, key: KeyInfo | undefined): void => {
        if (key?.name === 'tab' && !key.ctrl && !key.meta) void this.tab(rl, Boolean(key.shift));
      };
      this.io.stdin.on('keypress', onKey);
      rl.on('close', () => this.io.stdin.off('keypress', onKey));
    }
    rl.on('SIGINT', () => {
      this.tabs.reset();
      if (this.interruptHandlers.size > 0) {
        this.onSigint();
        return;
      }
      // Ctrl+C at the prompt clears the line, as the console host does.
      if (this.pendingRead) {
        this.io.stdout.write('^C\n');
        rl.write(null, { ctrl: true, name: 'u' });
        const r = this.pendingRead;
        this.pendingRead = undefined;
        r({ kind: 'interrupt' });
      }
    });
    rl.on('line', (l) => {
      this.lineCount++;
      this.tabs.reset();
      const r = this.pendingRead;
      if (r) {
        this.pendingRead = undefined;
        this.remember(l);
        r({ kind: 'line', text: l });
      } else this.queued.push(l);
    });
    rl.on('close', () => {
      if (this.suspending) return;
      this.inputClosed = true;
      const r = this.pendingRead;
      this.pendingRead = undefined;
      r?.({ kind: 'eof' });
    });
    this.rl = rl;
    return rl;
  }

  /** Tab / Shift+Tab: the next or previous completion from the remote TabExpansion2 (TabCycle). */
  private async tab(rl: Interface, backwards: boolean): Promise<void> {
    const state: EditState = { line: rl.line, cursor: rl.cursor };
    const lineCount = this.lineCount;
    let next: EditState | undefined;
    if (this.tabs.continues(state)) next = this.tabs.step(backwards);
    else {
      const complete = this.completer;
      if (!complete) return;
      let result: CompletionResult;
      try {
        result = await complete(state.line, state.cursor);
      } catch {
        return; // completion is a convenience: a failed TabExpansion2 leaves the line as it is
      }
      // Typed on meanwhile, submitted, or readline was closed: the answer is stale.
      if (
        this.rl !== rl ||
        this.lineCount !== lineCount ||
        rl.line !== state.line ||
        rl.cursor !== state.cursor
      )
        return;
      next = this.tabs.begin(state, result, backwards);
    }
    if (!next) return;
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    rl.write(next.line);
    for (let i = next.line.length; i > next.cursor; i--) rl.write(null, { name: 'left' });
  }

  private remember(line: string): void {
    if (!this.interactive || !this.historyFile || !line.trim()) return;
    try {
      // Private (0700 directories, 0600 file): the history holds what the user typed.
      appendPrivateFile(this.historyFile, `${line.replace(/\n/g, ' ')}\n`, stateDirectory(this.io.env));
    } catch {
      // History is a convenience: a read-only home must not stop the session.
    }
  }

  readCommand(
    prompt: string,
    complete: (line: string, cursor: number) => Promise<CompletionResult>,
  ): Promise<ReadResult> {
    if (this.ended) return Promise.resolve({ kind: 'eof' });
    this.completer = complete;
    this.tabs.reset();
    const rl = this.lines();
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve({ kind: 'line', text: queued });
    if (this.inputClosed) return Promise.resolve({ kind: 'eof' });
    if (this.interactive) {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    return new Promise((resolve) => {
      this.pendingRead = resolve;
    });
  }

  interruptRead(): void {
    const r = this.pendingRead;
    this.pendingRead = undefined;
    r?.({ kind: 'eof' });
  }

  stopAll(): void {
    this.ended = true;
    this.onSigint();
    this.interruptRead();
  }

  onInterrupt(handler: () => void): () => void {
    this.interruptHandlers.add(handler);
    return () => this.interruptHandlers.delete(handler);
  }

  endCommand(): void {
    this.hostUi.endCommand();
  }

  render(ev: InvocationEvent): void {
    switch (ev.kind) {
      case 'output':
        this.hostUi.writeLine(String(ev.value ?? ''));
        break;
      case 'error':
        this.hostUi.errors++;
        this.io.stderr.write(`${this.formatErrorRecord(ev.record)}\n`);
        break;
      case 'warning':
        this.hostUi.writeWarningLine(ev.message);
        break;
      case 'verbose':
        this.hostUi.writeVerboseLine(ev.message);
        break;
      case 'debug':
        this.hostUi.writeDebugLine(ev.message);
        break;
      case 'information':
        // Write-Host text already came through the host's Write calls; its record is tagged PSHOST.
        if (!ev.record.tags.includes('PSHOST')) this.hostUi.writeInformation(ev.record.text);
        break;
      case 'progress':
        this.hostUi.writeProgress(0n, ev.record);
        break;
    }
  }

  formatErrorRecord(r: ErrorRecordInfo): string {
    const text = `${r.message}\n    + CategoryInfo          : ${r.categoryInfo}\n    + FullyQualifiedErrorId : ${r.fullyQualifiedErrorId}`;
    const colors = !this.io.env.NO_COLOR && Boolean(this.io.stderr.isTTY);
    return colors ? `\x1b[91m${text}\x1b[0m` : text;
  }

  formatLocalError(e: PSRemotingError): string {
    return formatLocalError(e);
  }

  close(): void {
    process.off('SIGINT', this.onSigint);
    this.rl?.close();
  }
}

const BINDING_IDS = new Set([
  'AmbiguousParameterSet',
  'AmbiguousParameter',
  'NamedParameterNotFound',
  'MissingArgument',
  'ParameterAlreadyBound',
  'PositionalParameterNotFound',
  'MissingMandatoryParameter',
  'CannotConvertArgument',
  'CannotConvertArgumentNoMessage',
  'ParameterArgumentValidationError',
  'ParameterArgumentTransformationError',
  'ParameterBindingFailed',
  'ScriptBlockArgumentNoInput',
  'OptionTakesNoValue',
]);

/** psremote's own error in PowerShell's error view: the message, then CategoryInfo and FullyQualifiedErrorId. */
export function formatLocalError(e: PSRemotingError): string {
  const reason = BINDING_IDS.has(e.errorId) ? 'ParameterBindingException' : 'PSRemotingTransportException';
  const target = typeof e.targetObject === 'string' ? `${e.targetObject}:String` : ':';
  const lines = [
    `Enter-PSSession: ${e.message}`,
    `    + CategoryInfo          : ${e.category}: (${target}) [Enter-PSSession], ${reason}`,
    `    + FullyQualifiedErrorId : ${e.fullyQualifiedErrorId}`,
  ];
  if (e.recommendedAction) lines.push(`    + RecommendedAction     : ${e.recommendedAction}`);
  return lines.join('\n');
}
