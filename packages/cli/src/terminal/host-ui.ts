import type { Interface } from 'node:readline';
import {
  type ChoiceDescription,
  type Credential,
  type FieldDescription,
  type HostUi,
  HostUiNotSupported,
  type KeyInfo,
  type ProgressRecord,
  type PromptAnswer,
  type RawUi,
} from '@psremote/core';
import { drained } from '../io.ts';
import { ProgressDisplay } from './progress.ts';
import { ended, type RawInput, readKey, readMasked, withdrawn } from './raw-input.ts';
import { DEFAULT_BG, DEFAULT_CURSOR_SIZE, DEFAULT_FG } from './raw-ui-start.ts';
import type { KeyReader, TypeAhead } from './type-ahead.ts';
import { wrapToWidth } from './wrap.ts';

/** System.ConsoleColor to ANSI SGR (PowerShell's 16-colour console palette). */
const FG = [30, 34, 32, 36, 31, 35, 33, 37, 90, 94, 92, 96, 91, 95, 93, 97];

export interface TerminalStreams {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/**
 * The PowerShell host in a terminal: Write calls with ConsoleColor mapped to ANSI, the error/warning/verbose/
 * debug lines as the console host writes them, a progress display on stderr, and every prompt PowerShell's
 * console host answers (ReadLine, masked SecureString input, Prompt with typed fields, credentials,
 * PromptForChoice with hot keys and `?` help). In a terminal every prompt takes its keys from the session's
 * TypeAhead, so an answer typed before the prompt came answers it. When stdin is not a terminal, prompts read the
 * next input line, and fail at end of input instead of waiting.
 */
/** A line tail longer than this is not drawn again with the prompt. */
const MAX_LINE_TAIL = 1024;
/** Printable text and SGR colour sequences only (no CR, tabs, cursor moves or other controls). */
const PLAIN_OR_SGR = /^(?:[^\x00-\x1f\x7f-\x9f]|\x1b\[[0-9;]*m)*$/;

export class TerminalHostUi implements HostUi {
  readonly interactive: boolean;
  readonly rawUi: RawUi;
  private readonly io: TerminalStreams;
  private readonly colors: boolean;
  private readonly rl: () => Interface;
  private readonly keys: TypeAhead | undefined;
  private readonly lineKeys: KeyReader | undefined;
  private readonly interrupt: () => boolean;
  private readonly progress: ProgressDisplay;
  /** Masked input and ReadKey, in a terminal. */
  private readonly raw: RawInput | undefined;
  errors = 0;
  /** The text written since the last line end (takeLineTail). */
  private tail = '';

  constructor(
    io: TerminalStreams,
    options: {
      colors: boolean;
      readline: () => Interface;
      /** The keyboard, in a terminal: masked input and ReadKey take keys from it, and readline's lines do. */
      keys?: TypeAhead;
      /** readline as a reader of keys (it reads the lines of ReadLine, Prompt, PromptForChoice). */
      lineKeys?: KeyReader;
      /** Ctrl+C typed into raw-mode input (masked text, ReadKey): stops the command; false if none runs. */
      interrupt?: () => boolean;
    },
  ) {
    this.io = io;
    this.colors = options.colors;
    this.rl = options.readline;
    this.keys = options.keys;
    this.lineKeys = options.lineKeys;
    this.interrupt = options.interrupt ?? (() => false);
    this.interactive = Boolean(io.stdin.isTTY);
    this.progress = new ProgressDisplay(io.stderr, options.colors);
    this.raw = this.keys ? { keys: this.keys, interrupt: this.interrupt } : undefined;
    const out = io.stdout;
    const keys = this.keys;
    let title = '';
    this.rawUi = {
      foregroundColor: DEFAULT_FG,
      backgroundColor: DEFAULT_BG,
      cursorPosition: { x: 0, y: 0 },
      windowPosition: { x: 0, y: 0 },
      cursorSize: DEFAULT_CURSOR_SIZE,
      get bufferSize() {
        return { width: out.columns || 120, height: 9001 };
      },
      set bufferSize(_v) {},
      get windowSize() {
        return { width: out.columns || 120, height: out.rows || 50 };
      },
      set windowSize(_v) {},
      get maxWindowSize() {
        return { width: out.columns || 120, height: out.rows || 50 };
      },
      get maxPhysicalWindowSize() {
        return { width: out.columns || 120, height: out.rows || 50 };
      },
      get windowTitle() {
        return title;
      },
      set windowTitle(v: string) {
        title = v;
        if (out.isTTY) out.write(`\x1b]0;${v}\x07`);
      },
      // Keys typed ahead and not yet read.
      get keyAvailable() {
        return keys?.pending ?? false;
      },
      readKey: (options: number, signal?: AbortSignal) => this.readKey(options, signal),
      flushInputBuffer() {
        keys?.flush();
      },
    };
  }

  private sgr(text: string, fg?: number, bg?: number): string {
    if (!this.colors) return text;
    const codes: number[] = [];
    if (fg !== undefined && fg >= 0 && fg < 16 && fg !== this.rawUi.foregroundColor)
      codes.push(FG[fg] as number);
    if (bg !== undefined && bg >= 0 && bg < 16 && bg !== this.rawUi.backgroundColor)
      codes.push((FG[bg] as number) + 10);
    return codes.length ? `\x1b[${codes.join(';')}m${text}\x1b[0m` : text;
  }

  /** A terminal or pipe that cannot take more makes the session wait before the server's next message. */
  drained(): Promise<void> | undefined {
    return drained(this.io.stdout, this.io.stderr);
  }

  private out(text: string): void {
    this.progress.clear();
    this.io.stdout.write(text);
    const nl = text.lastIndexOf('\n');
    this.tail = nl >= 0 ? text.slice(nl + 1) : this.tail + text;
    if (this.tail.length > MAX_LINE_TAIL) this.tail = '';
  }

  /**
   * What host writes left on the current line (Write-Host -NoNewline in a prompt function: `[wh]` before
   * `PS C:\>`), taken once. readline redraws its prompt from the line's start, so the command prompt is drawn with
   * this in front, as the console host shows it. Only plain text and colours: anything that moves the cursor is
   * not drawn again.
   */
  takeLineTail(): string {
    const tail = this.tail;
    this.tail = '';
    return PLAIN_OR_SGR.test(tail) ? tail : '';
  }

  /** Something else wrote a whole line (an error record, ^C): the current line is empty again. */
  lineEnded(): void {
    this.tail = '';
  }

  write(text: string, foreground?: number, background?: number): void {
    this.out(this.sgr(text, foreground, background));
  }
  writeLine(text = '', foreground?: number, background?: number): void {
    this.out(`${this.sgr(text, foreground, background)}\n`);
  }
  writeErrorLine(text: string): void {
    this.errors++;
    this.progress.clear();
    this.io.stderr.write(`${this.sgr(text, 12)}\n`);
    this.tail = '';
  }
  writeWarningLine(text: string): void {
    this.out(`${this.sgr(`WARNING: ${text}`, 14)}\n`);
  }
  writeVerboseLine(text: string): void {
    this.out(`${this.sgr(`VERBOSE: ${text}`, 14)}\n`);
  }
  writeDebugLine(text: string): void {
    this.out(`${this.sgr(`DEBUG: ${text}`, 14)}\n`);
  }
  writeInformation(text: string): void {
    this.out(`${text}\n`);
  }

  /** A progress bar per activity on stderr, redrawn in place, cleared when the last one completes. */
  writeProgress(_sourceId: bigint, record: ProgressRecord): void {
    this.progress.update(record);
  }

  // ---- input ------------------------------------------------------------------------------------------

  private ask(query: string, signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) return Promise.reject(withdrawn());
    const rl = this.rl();
    return new Promise((resolve, reject) => {
      const onClose = () => settle(ended());
      // The command this prompt belongs to ended (Ctrl+C stopped it): the question is withdrawn.
      const onAbort = () => settle(withdrawn());
      let release: (() => void) | undefined;
      let settled = false;
      const settle = (err?: Error, answer?: string) => {
        if (settled) return;
        settled = true;
        release?.();
        rl.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(answer as string);
      };
      rl.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        rl.question(query, signal ? { signal } : {}, (answer) => settle(undefined, answer));
      } catch {
        return settle(ended()); // readline was closed (the input ended earlier)
      }
      // In a terminal readline takes keys from the type-ahead: an answer typed before the question came.
      if (this.keys && this.lineKeys) release = this.keys.read(this.lineKeys);
    });
  }

  /** Reads a line without echo, showing `*` per character (ConsoleHostUserInterfaceSecurity.cs). */
  private askMasked(query: string, signal?: AbortSignal): Promise<string> {
    if (!this.raw) return this.ask(query, signal);
    return readMasked(this.raw, this.io.stdout, query, signal);
  }

  readLine(signal?: AbortSignal): Promise<string> {
    return this.ask('', signal);
  }

  readLineAsSecureString(signal?: AbortSignal): Promise<string> {
    return this.askMasked('', signal);
  }

  async prompt(
    caption: string,
    message: string,
    fields: readonly FieldDescription[],
    signal?: AbortSignal,
  ): Promise<Record<string, PromptAnswer>> {
    this.writeCaption(caption, message);
    // ConsoleHostUserInterface.Prompt: the hint when any field has help (`!?` shows it).
    if (fields.some((f) => f.helpMessage)) this.writeLine('(Type !? for Help.)');
    const out: Record<string, PromptAnswer> = {};
    for (const f of fields) {
      // The label's `&` marks a hot key (`&Path`); the console host shows the label without it.
      const label = TerminalHostUi.hotKey(f.label || f.name).text;
      const type = f.parameterTypeFullName || f.parameterTypeName;
      for (;;) {
        if (/PSCredential/i.test(type)) {
          out[f.name] = await this.promptForCredential(
            'PowerShell credential request',
            'Enter your credentials.',
            '',
            '',
            signal,
          );
          break;
        }
        if (/\[\]$/.test(type)) {
          const items: string[] = [];
          for (let i = 0; ; i++) {
            const v = await this.ask(`${label}[${i}]: `, signal);
            if (v === '') break;
            items.push(v);
          }
          out[f.name] = items;
          break;
        }
        const v = /SecureString/i.test(type)
          ? await this.askMasked(`${label}: `, signal)
          : await this.ask(`${label}: `, signal);
        if (v === '!?') {
          this.writeLine(f.helpMessage || 'No help is available for this field.');
          continue;
        }
        out[f.name] = /SecureString/i.test(type) ? { secureString: v } : v;
        break;
      }
    }
    return out;
  }

  async promptForCredential(
    caption: string,
    message: string,
    userName: string,
    _targetName: string,
    signal?: AbortSignal,
  ): Promise<Credential | null> {
    this.writeCaption(caption, message);
    const user = userName || (await this.ask('User: ', signal));
    const password = await this.askMasked(`Password for user ${user}: `, signal);
    // ConsoleHostUserInterface.PromptForCredential: an empty line after the password.
    this.writeLine('');
    return { userName: user, password };
  }

  /**
   * The head of every console-host question (Prompt, PromptForCredential, PromptForChoice): an empty line and the
   * caption when there is one, then the message (ConsoleHostUserInterface*.cs: WriteLineToConsole() first).
   */
  private writeCaption(caption: string, message: string): void {
    // Both wrapped at words to the window width less one cell (WrapToCurrentWindowWidth).
    const width = this.rawUi.windowSize.width - 1;
    if (caption) {
      this.writeLine('');
      this.writeLine(wrapToWidth(caption, width));
    }
    if (message) this.writeLine(wrapToWidth(message, width));
  }

  private static hotKey(label: string): { key: string; text: string } {
    const i = label.indexOf('&');
    const text = label.replace('&', '');
    const key =
      i >= 0 && i + 1 < label.length ? (label[i + 1] as string).toUpperCase() : (text[0] ?? '').toUpperCase();
    return { key, text };
  }

  private choiceLine(choices: readonly ChoiceDescription[], defaults: readonly number[]): string {
    const parts = choices.map((c) => {
      const { key, text } = TerminalHostUi.hotKey(c.label);
      return `[${key}] ${text}`;
    });
    const dflt = defaults
      .map((d) => choices[d])
      .filter(Boolean)
      .map((c) => TerminalHostUi.hotKey((c as ChoiceDescription).label).key);
    return `${parts.join('  ')}  [?] Help${dflt.length ? ` (default is "${dflt.join(',')}")` : ''}: `;
  }

  private parseChoice(answer: string, choices: readonly ChoiceDescription[]): number {
    const a = answer.trim().toUpperCase();
    return choices.findIndex((c) => {
      const { key, text } = TerminalHostUi.hotKey(c.label);
      return a === key || a === text.toUpperCase();
    });
  }

  private help(choices: readonly ChoiceDescription[]): void {
    for (const c of choices) {
      const { key } = TerminalHostUi.hotKey(c.label);
      this.writeLine(`${key} - ${c.helpMessage}`);
    }
  }

  async promptForChoice(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoice: number,
    signal?: AbortSignal,
  ): Promise<number> {
    this.writeCaption(caption, message);
    for (;;) {
      const a = await this.ask(this.choiceLine(choices, defaultChoice >= 0 ? [defaultChoice] : []), signal);
      if (a.trim() === '' && defaultChoice >= 0) return defaultChoice;
      if (a.trim() === '?') {
        this.help(choices);
        continue;
      }
      const i = this.parseChoice(a, choices);
      if (i >= 0) return i;
    }
  }

  async promptForChoiceMultiple(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoices: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]> {
    this.writeCaption(caption, message);
    const picked: number[] = [];
    for (let n = 0; ; ) {
      const a = await this.ask(`Choice[${n}]: `, signal);
      if (a.trim() === '') return picked.length ? picked : [...defaultChoices];
      if (a.trim() === '?') {
        this.writeLine(this.choiceLine(choices, defaultChoices));
        this.help(choices);
        continue;
      }
      const i = this.parseChoice(a, choices);
      if (i >= 0) {
        picked.push(i);
        n++;
      }
    }
  }

  /** ReadKey: one key from the terminal in raw mode; echoed unless ReadKeyOptions.NoEcho (2), as the console host. */
  private readKey(options: number, signal?: AbortSignal): Promise<KeyInfo> {
    if (!this.raw) return Promise.reject(new HostUiNotSupported('ReadKey (the input is not a terminal)'));
    return readKey(this.raw, options, (text) => this.write(text), signal);
  }

  /** A command ended: progress bars it left (stopped before reporting Completed) are cleared. */
  endCommand(): void {
    this.progress.reset();
  }
}
