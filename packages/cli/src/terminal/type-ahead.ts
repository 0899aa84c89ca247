import { StringDecoder } from 'node:string_decoder';
import { splitKey } from './key-decode.ts';

/** One reader of keys: the line editor, a Read-Host line, masked input, ReadKey. */
export interface KeyReader {
  /**
   * Takes one key: a character, Enter (`\r`, `\n` or `\r\n`), or a whole escape sequence. `pasted`: more keys came
   * in the same read from the terminal (a paste; a person types one key per read), as readline tells a pasted
   * Tab (inserted) from a typed one (completion).
   */
  take(key: string, pasted: boolean): void;
  /** True while the reader cannot take keys yet (a Tab's completion is on its way): keys wait in the buffer. */
  readonly busy?: boolean;
  /** Ctrl+C came while the reader was busy: it stops waiting (the Ctrl+C key comes to it next). */
  cancelBusy?(): void;
  /** The input ended (the terminal hung up) with nothing left for this reader. */
  end(): void;
}

/** The minimum of a terminal's stdin the keyboard needs (a tty.ReadStream; a fake in tests). */
export interface KeyboardInput {
  setRawMode(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const CTRL_C = '\x03';

/**
 * The one owner of an interactive stdin for the whole session: the terminal is in raw mode, every key read is put
 * in a buffer, and the reader of the moment (the line editor at the prompt, Read-Host, masked input, ReadKey)
 * takes keys from it one at a time until it has what it wants. What it leaves (a second pasted line, an answer
 * typed before the command asked, a Tab typed ahead) waits for the next reader, as a terminal line discipline
 * and PowerShell's console host keep type-ahead. Nothing is echoed while it waits: the reader that takes a key
 * echoes it, as the key would have shown had it been typed then.
 *
 * Ctrl+C is not type-ahead. A reader that is taking keys gets it in order (the line editor clears its line,
 * Read-Host and masked input stop the command, ReadKey may take it as a key). Otherwise, when it arrives, the
 * running command is interrupted and what was typed ahead is discarded: a terminal's ISIG flushes its input
 * queue on ^C unless NOFLSH is set (termios(3)), and the console host's break handler calls
 * FlushConsoleInputBuffer. With no command to interrupt the Ctrl+C stays, for the next reader to take.
 */
export class TypeAhead {
  /** What the terminal sent and no reader took yet, as it was read (never an empty string). */
  private chunks: string[] = [];
  /**
   * Readers that asked for keys, the latest on top: the top one takes them. A prompt that comes while another
   * reads (a runspace-pool prompt while the line editor waits at the prompt) reads first, then the one under it
   * reads on.
   */
  private readers: { readonly reader: KeyReader }[] = [];
  private started = false;
  private ended = false;
  private pumping = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly input: KeyboardInput;
  private readonly interrupt: () => boolean;

  /** interrupt: stops the running command; false when none runs. */
  constructor(input: KeyboardInput, interrupt: () => boolean) {
    this.input = input;
    this.interrupt = interrupt;
  }

  /** Takes the terminal: raw mode, every key read into the buffer. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.input.setRawMode(true);
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    // A terminal that hung up can fail a read (EIO): that is the end of the input, not a crash.
    this.input.on('error', this.onEnd);
    this.input.resume();
  }

  /** Gives the terminal back (cooked mode, stdin paused so the process can exit). */
  close(): void {
    if (!this.started) return;
    this.started = false;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onEnd);
    try {
      this.input.setRawMode(false);
    } catch {
      // the terminal is gone (hung up): nothing to give back
    }
    this.input.pause();
    this.readers = [];
  }

  /** The reader that takes keys now. */
  private get reader(): KeyReader | undefined {
    return this.readers.at(-1)?.reader;
  }

  /**
   * Makes `reader` the one that takes keys, buffered ones first (from a microtask: the caller finishes setting up
   * before the first key comes). Returns the release function: after it, keys wait for the next reader.
   */
  read(reader: KeyReader): () => void {
    this.start();
    const entry = { reader };
    this.readers.push(entry);
    queueMicrotask(() => this.pump());
    return () => {
      const at = this.readers.indexOf(entry);
      if (at < 0) return;
      this.readers.splice(at, 1);
      // The reader under it (if any) reads on, from the next microtask (the caller settles first).
      if (at === this.readers.length && this.readers.length > 0) queueMicrotask(() => this.pump());
    };
  }

  /** `reader` is the one taking keys now. */
  isReader(reader: KeyReader): boolean {
    return this.reader === reader;
  }

  /** Keys are waiting (RawUI.KeyAvailable). */
  get pending(): boolean {
    return this.chunks.length > 0;
  }

  /** Discards what was typed ahead (RawUI.FlushInputBuffer). */
  flush(): void {
    this.chunks = [];
  }

  /** Hands buffered keys to the reader, one at a time, while it takes them; then acts on a waiting Ctrl+C. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const r = this.reader;
        const chunk = this.chunks[0];
        if (!r || r.busy || chunk === undefined) break;
        let [key, rest] = splitKey(chunk);
        // CR LF is one Enter (a paste from a CRLF source): a reader that stops at CR must not leave an empty line.
        if (key === '\r' && rest.startsWith('\n')) {
          key = '\r\n';
          rest = rest.slice(1);
        }
        if (rest) this.chunks[0] = rest;
        else this.chunks.shift();
        r.take(key, rest !== '');
      }
    } finally {
      this.pumping = false;
    }
    this.ctrlC();
    while (this.ended && this.chunks.length === 0 && this.readers.length > 0)
      (this.readers.pop() as { reader: KeyReader }).reader.end();
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (text) this.chunks.push(text);
    this.pump();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.pump();
  };

  /** A Ctrl+C no reader is taking: interrupt, and discard what was typed before it. */
  private ctrlC(): void {
    const i = this.chunks.findIndex((c) => c.includes(CTRL_C));
    if (i < 0) return;
    const r = this.reader;
    if (r && !r.busy) return; // it takes the Ctrl+C in order (pump)
    const chunk = this.chunks[i] as string;
    const after = chunk.slice(chunk.indexOf(CTRL_C) + 1);
    this.chunks = after ? [after, ...this.chunks.slice(i + 1)] : this.chunks.slice(i + 1);
    if (r?.busy) {
      // The line editor waits for a completion: it stops waiting, and takes the Ctrl+C (clears its line).
      r.cancelBusy?.();
      this.chunks.unshift(CTRL_C);
      this.pump();
      return;
    }
    if (!this.interrupt()) this.chunks.unshift(CTRL_C);
    // Keys typed after the Ctrl+C are kept; another Ctrl+C among them is one more interrupt.
    else this.ctrlC();
  }
}
