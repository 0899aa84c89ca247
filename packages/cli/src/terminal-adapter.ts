import { createInterface, type Interface } from 'node:readline';
import type { CompletionResult, HostUi, InvocationEvent, PSRemotingError } from '@psremote/core';
import { RecordingHostUi } from '@psremote/core';
import type { ErrorRecordInfo } from '@psremote/psrp';
import type { MainIo } from './main.ts';

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
  /** Ctrl+C while a command runs or while connecting; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
  render(event: InvocationEvent): void;
  formatErrorRecord(record: ErrorRecordInfo): string;
  formatLocalError(error: PSRemotingError): string;
  close(): void;
}

export function createTerminal(io: MainIo, options: { noColor: boolean }): Terminal {
  return new LineTerminal(io, options);
}

/** A plain line-based terminal (interim until the full terminal host lands). */
class LineTerminal implements Terminal {
  readonly hostUi: HostUi;
  readonly interactive: boolean;
  private errors = 0;
  private rl: Interface | undefined;
  private readonly interruptHandlers = new Set<() => void>();
  private pendingRead: ((r: ReadResult) => void) | undefined;
  private readonly io: MainIo;

  constructor(io: MainIo, _options: { noColor: boolean }) {
    this.io = io;
    this.interactive = Boolean(io.stdin.isTTY);
    const ui = new RecordingHostUi({ interactive: false });
    const out = io.stdout;
    const count = () => {
      this.errors++;
    };
    ui.write = (t) => void out.write(t);
    ui.writeLine = (t = '') => void out.write(`${t}\n`);
    ui.writeErrorLine = (t) => {
      count();
      io.stderr.write(`${t}\n`);
    };
    ui.writeWarningLine = (t) => void io.stderr.write(`WARNING: ${t}\n`);
    ui.writeVerboseLine = (t) => void io.stderr.write(`VERBOSE: ${t}\n`);
    ui.writeDebugLine = (t) => void io.stderr.write(`DEBUG: ${t}\n`);
    ui.writeInformation = (t) => void out.write(`${t}\n`);
    ui.writeProgress = () => {};
    this.hostUi = ui;
    process.on('SIGINT', this.onSigint);
  }

  get errorCount(): number {
    return this.errors;
  }

  private readonly onSigint = (): void => {
    for (const h of this.interruptHandlers) h();
  };

  private lines(): Interface {
    if (!this.rl) {
      this.rl = createInterface({
        input: this.io.stdin,
        output: this.interactive ? this.io.stdout : undefined,
        terminal: this.interactive,
      });
      this.rl.on('SIGINT', this.onSigint);
      const queue: string[] = [];
      let closed = false;
      this.rl.on('line', (l) => {
        const r = this.pendingRead;
        if (r) {
          this.pendingRead = undefined;
          r({ kind: 'line', text: l });
        } else queue.push(l);
      });
      this.rl.on('close', () => {
        closed = true;
        const r = this.pendingRead;
        this.pendingRead = undefined;
        r?.({ kind: 'eof' });
      });
      (this.rl as Interface & { psQueue?: string[]; psClosed?: () => boolean }).psQueue = queue;
      (this.rl as Interface & { psClosed?: () => boolean }).psClosed = () => closed;
    }
    return this.rl;
  }

  readCommand(prompt: string): Promise<ReadResult> {
    const rl = this.lines() as Interface & { psQueue: string[]; psClosed: () => boolean };
    const queued = rl.psQueue.shift();
    if (queued !== undefined) return Promise.resolve({ kind: 'line', text: queued });
    if (rl.psClosed()) return Promise.resolve({ kind: 'eof' });
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

  onInterrupt(handler: () => void): () => void {
    this.interruptHandlers.add(handler);
    return () => this.interruptHandlers.delete(handler);
  }

  render(ev: InvocationEvent): void {
    switch (ev.kind) {
      case 'output':
        this.hostUi.writeLine(String(ev.value ?? ''));
        break;
      case 'error':
        this.errors++;
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
        this.hostUi.writeInformation(String(ev.record.messageData ?? ''));
        break;
      case 'progress':
        break;
    }
  }

  formatErrorRecord(r: ErrorRecordInfo): string {
    return `${r.message}\n    + CategoryInfo          : ${r.categoryInfo}\n    + FullyQualifiedErrorId : ${r.fullyQualifiedErrorId}`;
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
