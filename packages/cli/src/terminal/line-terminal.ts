import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { CompletionResult, HostUi, InvocationEvent, PSRemotingError } from '@psremote/core';
import type { ErrorRecordInfo } from '@psremote/psrp';
import type { MainIo } from '../io.ts';
import { appendPrivateFile } from '../private-file.ts';
import { mark } from '../timing.ts';
import { HISTORY_SIZE, loadHistory, stateDirectory } from './history.ts';
import { TerminalHostUi } from './host-ui.ts';
import { formatErrorRecord, formatLocalError, renderEvent } from './render.ts';
import { type EditState, TabCycle } from './tab-cycle.ts';
import { type KeyReader, TypeAhead } from './type-ahead.ts';

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

export interface TerminalOptions {
  readonly noColor: boolean;
  /**
   * Hold the keyboard from the first command (or connect) on, so what is typed while commands run waits for the
   * next reader (`enter`). Otherwise (`invoke`) the terminal is taken at the first prompt only: until then what is
   * typed stays with the terminal, for the shell after psremote.
   */
  readonly typeAhead?: boolean;
}

export function createTerminal(io: MainIo, options: TerminalOptions): Terminal {
  return new LineTerminal(io, options);
}

/**
 * What readline reads in a terminal: not stdin itself but the keys TypeAhead hands to it while it is the reader
 * (at the prompt, at Read-Host), one at a time, so a line typed ahead is echoed when it is taken and what follows
 * it stays for the next reader. Pausing belongs to TypeAhead; raw mode is the terminal's (readline leaves it for
 * Ctrl+Z and takes it again at SIGCONT).
 */
class KeyFeed extends EventEmitter {
  readonly isTTY = true;
  private readonly stdin: NodeJS.ReadStream;
  constructor(stdin: NodeJS.ReadStream) {
    super();
    this.stdin = stdin;
  }
  get isRaw(): boolean {
    return this.stdin.isRaw;
  }
  setRawMode(mode: boolean): this {
    if (!this.stdin.destroyed) this.stdin.setRawMode(mode);
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}

/**
 * What readline writes to: the terminal, except that a resize is passed on only while readline reads a line.
 * readline redraws its prompt and line on every resize; while a command runs that would print the prompt in the
 * middle of the command's output.
 */
class EditorOutput extends EventEmitter {
  readonly isTTY = true;
  private readonly out: NodeJS.WriteStream;

  constructor(out: NodeJS.WriteStream, reading: () => boolean) {
    super();
    this.out = out;
    out.on('resize', () => {
      if (reading()) this.emit('resize');
    });
  }
  get columns(): number {
    return this.out.columns;
  }
  get rows(): number {
    return this.out.rows;
  }
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    return (this.out.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }
}

/**
 * The terminal of `psremote enter`: readline for editing, history and completion; TerminalHostUi for the rest;
 * TypeAhead owns a terminal's stdin and hands keys to whichever of them reads.
 */
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
  /** The keyboard of a terminal (undefined when stdin is a file or pipe: readline reads it line by line). */
  private readonly keys: TypeAhead | undefined;
  private readonly holdKeys: boolean;
  /** readline's input in a terminal. */
  private readonly feed: KeyFeed;
  /** Releases the line editor's hold on the keys (set while readCommand waits). */
  private releaseLine: (() => void) | undefined;
  /** A Tab's completion is on its way: keys typed after it wait (they apply to the completed line). */
  private tabBusy = false;
  private tabGeneration = 0;
  /** readline as a reader of keys: at the command prompt, and at ReadLine's questions (TerminalHostUi.ask). */
  private readonly lineKeys: KeyReader;
  /** stopAll was called: the process is ending, no more commands are read (not even typed-ahead ones). */
  private ended = false;

  constructor(io: MainIo, options: TerminalOptions) {
    this.io = io;
    this.interactive = Boolean(io.stdin.isTTY);
    this.holdKeys = options.typeAhead ?? false;
    this.feed = new KeyFeed(io.stdin);
    const colors = !options.noColor && !io.env.NO_COLOR && Boolean(io.stdout.isTTY) && io.env.TERM !== 'dumb';
    const interrupt = (): boolean => {
      if (this.interruptHandlers.size === 0) return false;
      this.onSigint();
      return true;
    };
    this.keys = this.interactive ? new TypeAhead(io.stdin, interrupt) : undefined;
    const self = this;
    this.lineKeys = {
      take: (key, pasted) => {
        // A Tab in a paste is indentation, not completion (readline's own rule for a Tab amid other keys).
        if (key === '\t' && pasted && this.rl) this.rl.write('\t');
        else this.feed.emit('data', Buffer.from(key, 'utf8'));
      },
      get busy() {
        return self.tabBusy;
      },
      cancelBusy: () => {
        this.tabBusy = false;
        this.tabGeneration++;
      },
      end: () => this.feed.emit('end'),
    };
    this.hostUi = new TerminalHostUi(io, {
      colors,
      readline: () => this.lines(),
      ...(this.keys ? { keys: this.keys, lineKeys: this.lineKeys } : {}),
      interrupt,
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
    const rl = this.rl as (Interface & { history?: string[] }) | undefined;
    if (rl && this.interactive) rl.history = loadHistory(this.historyFile);
  }

  private readonly onSigint = (): void => {
    for (const h of this.interruptHandlers) h();
  };

  /** Settles the pending readCommand and stops the line editor's hold on the keys. */
  private settleRead(result: ReadResult): void {
    const r = this.pendingRead;
    this.pendingRead = undefined;
    this.releaseLine?.();
    this.releaseLine = undefined;
    r?.(result);
  }

  private editorOutput(): NodeJS.WritableStream {
    const keys = this.keys;
    if (!keys) return this.io.stdout;
    const reading = () => keys.isReader(this.lineKeys);
    return new EditorOutput(this.io.stdout, reading) as unknown as NodeJS.WritableStream;
  }

  private lines(): Interface {
    if (this.rl) return this.rl;
    const history = this.interactive && this.historyFile ? loadHistory(this.historyFile) : [];
    const rl = createInterface({
      input: this.keys ? (this.feed as unknown as NodeJS.ReadableStream) : this.io.stdin,
      output: this.interactive ? this.editorOutput() : undefined,
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
      // Completion is for the command line, not for a Read-Host answer.
      const onKey = (_s: string | undefined, key: KeyInfo | undefined): void => {
        if (key?.name === 'tab' && !key.ctrl && !key.meta && this.pendingRead)
          void this.tab(rl, Boolean(key.shift));
      };
      const input = this.keys ? this.feed : this.io.stdin;
      input.on('keypress', onKey);
      rl.on('close', () => input.off('keypress', onKey));
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
        this.hostUi.lineEnded();
        rl.write(null, { ctrl: true, name: 'u' });
        this.settleRead({ kind: 'interrupt' });
      }
    });
    rl.on('line', (l) => {
      this.lineCount++;
      this.tabs.reset();
      if (this.pendingRead) {
        this.remember(l);
        this.settleRead({ kind: 'line', text: l });
      } else this.queued.push(l); // a script on stdin: readline reads ahead of the REPL
    });
    rl.on('close', () => {
      this.inputClosed = true;
      this.settleRead({ kind: 'eof' });
    });
    this.rl = rl;
    return rl;
  }

  /** Tab / Shift+Tab: the next or previous completion from the remote TabExpansion2 (TabCycle). */
  private async tab(rl: Interface, backwards: boolean): Promise<void> {
    const state: EditState = { line: rl.line, cursor: rl.cursor };
    const lineCount = this.lineCount;
    if (this.tabs.continues(state)) {
      const next = this.tabs.step(backwards);
      if (next) this.replaceLine(rl, next);
      return;
    }
    const complete = this.completer;
    if (!complete) return;
    // The line editor takes no more keys until the answer is in: keys typed after a Tab (typed ahead, or while
    // the server answers) apply to the completed line, as if completion were instant. Ctrl+C stops the wait.
    const generation = ++this.tabGeneration;
    this.tabBusy = true;
    try {
      let result: CompletionResult;
      try {
        result = await complete(state.line, state.cursor);
      } catch {
        return; // completion is a convenience: a failed TabExpansion2 leaves the line as it is
      }
      // Cancelled with Ctrl+C, submitted, or readline was closed: the answer is stale.
      if (
        this.tabGeneration !== generation ||
        this.rl !== rl ||
        this.lineCount !== lineCount ||
        rl.line !== state.line ||
        rl.cursor !== state.cursor
      )
        return;
      const next = this.tabs.begin(state, result, backwards);
      if (next) this.replaceLine(rl, next);
    } finally {
      if (this.tabGeneration === generation) {
        this.tabBusy = false;
        this.keys?.pump();
      }
    }
  }

  private replaceLine(rl: Interface, next: EditState): void {
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
      rl.setPrompt(this.hostUi.takeLineTail() + prompt);
      rl.prompt();
      mark('prompt shown');
    }
    return new Promise((resolve) => {
      this.pendingRead = resolve;
      // Lines typed ahead are taken (and echoed) now, one per prompt.
      this.releaseLine = this.keys?.read(this.lineKeys);
    });
  }

  interruptRead(): void {
    this.settleRead({ kind: 'eof' });
  }

  stopAll(): void {
    this.ended = true;
    this.onSigint();
    this.interruptRead();
  }

  onInterrupt(handler: () => void): () => void {
    // A command or the connection starts: from now on keys typed are kept for the next reader.
    if (this.holdKeys) this.keys?.start();
    this.interruptHandlers.add(handler);
    return () => this.interruptHandlers.delete(handler);
  }

  endCommand(): void {
    this.hostUi.endCommand();
  }

  render(ev: InvocationEvent): void {
    renderEvent(ev, this.hostUi, (record) => {
      this.io.stderr.write(`${this.formatErrorRecord(record)}\n`);
      this.hostUi.lineEnded();
    });
  }

  formatErrorRecord(r: ErrorRecordInfo): string {
    return formatErrorRecord(r, !this.io.env.NO_COLOR && Boolean(this.io.stderr.isTTY));
  }

  formatLocalError(e: PSRemotingError): string {
    return formatLocalError(e);
  }

  close(): void {
    process.off('SIGINT', this.onSigint);
    this.rl?.close();
    this.keys?.close();
  }
}
