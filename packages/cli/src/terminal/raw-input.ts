import { HostUiNotSupported, type KeyInfo } from '@psremote/core';
import { decodeKey } from './key-decode.ts';
import type { KeyReader, TypeAhead } from './type-ahead.ts';

/** The raw-mode readers' terminal: its keyboard, and what Ctrl+C typed into them does. */
export interface RawInput {
  readonly keys: TypeAhead;
  /** Ctrl+C typed into raw-mode input (masked text, ReadKey): stops the command; false if none runs. */
  readonly interrupt: () => boolean;
}

/** Reads a line without echo, showing `*` per character (ConsoleHostUserInterfaceSecurity.cs). */
export function readMasked(
  input: RawInput,
  out: NodeJS.WriteStream,
  query: string,
  signal?: AbortSignal,
): Promise<string> {
  const keys = input.keys;
  if (signal?.aborted) return Promise.reject(withdrawn());
  return new Promise((resolve, reject) => {
    out.write(query);
    let value = '';
    let release = (): void => {};
    const onAbort = () => finish(withdrawn());
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      release();
      signal?.removeEventListener('abort', onAbort);
      out.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // One key at a time from the type-ahead: what was typed after Enter stays for whatever reads next.
    const reader: KeyReader = {
      take: (key) => {
        if (key === '\r' || key === '\n' || key === '\r\n') return finish();
        // Ctrl+C stops the command, as in the console host; the prompt goes when it has stopped (onAbort).
        // Meanwhile it takes no more keys: they are the next reader's.
        if (key === '\u0003') {
          const cancelled = () => finish(new HostUiNotSupported('input: cancelled with Ctrl+C'));
          if (stopOnCtrlC(input, signal, cancelled)) return release();
          return cancelled();
        }
        if (key === '\u007f' || key === '\b') {
          if (value.length) {
            value = value.slice(0, -1);
            out.write('\b \b');
          }
          return;
        }
        // Other control keys and escape sequences (arrows, function keys) are not part of the text.
        if (key < ' ' || key.startsWith('\x1b')) return;
        value += key;
        out.write('*');
      },
      end: () => finish(ended()),
    };
    release = keys.read(reader);
  });
}

/**
 * ReadKey: one key from the terminal in raw mode; echoed through `echo` unless ReadKeyOptions.NoEcho (2), as
 * the console host.
 */
export function readKey(
  input: RawInput,
  options: number,
  echo: (text: string) => void,
  signal?: AbortSignal,
): Promise<KeyInfo> {
  const keys = input.keys;
  if (signal?.aborted) return Promise.reject(withdrawn());
  return new Promise((resolve, reject) => {
    let settled = false;
    let release = (): void => {};
    /** Stops reading once; false when that was already done. */
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      release();
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (done()) reject(withdrawn());
    };
    const cancelled = () => {
      if (done()) reject(new HostUiNotSupported('ReadKey: cancelled with Ctrl+C'));
    };
    // One key per ReadKey: what came with it (typed ahead, pasted) stays for the next read.
    const reader: KeyReader = {
      take: (k) => {
        const key = decodeKey(k);
        // Ctrl+C stops the command unless ReadKeyOptions.AllowCtrlC (1) asks for it as a key; meanwhile the
        // keys that follow are the next reader's.
        if (key.character === '\x03' && (options & 1) === 0 && stopOnCtrlC(input, signal, cancelled))
          return release();
        if (!done()) return;
        if ((options & 2) === 0 && key.character >= ' ' && key.character !== '\x7f') echo(key.character);
        resolve(key);
      },
      end: () => {
        if (done()) reject(ended());
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    release = keys.read(reader);
  });
}

/**
 * Ctrl+C typed into a raw-mode prompt (masked input, ReadKey): stops the running command, as the console host
 * does. The prompt is then withdrawn by its command's end (its signal); one that is not of that command (a
 * pool-level prompt) is cancelled after a moment. False when no command runs: the caller cancels at once.
 */
function stopOnCtrlC(input: RawInput, signal: AbortSignal | undefined, cancel: () => void): boolean {
  if (!signal || !input.interrupt()) return false;
  setTimeout(cancel, GRACE_AFTER_INTERRUPT_MS).unref?.();
  return true;
}

/** How long a prompt waits, after Ctrl+C stopped a command, to be withdrawn before it cancels itself. */
const GRACE_AFTER_INTERRUPT_MS = 1000;

/** The terminal hung up, or a script on stdin ended, before the prompt was answered. */
export function ended(): HostUiNotSupported {
  return new HostUiNotSupported('input: the input ended (no one can answer the prompt)');
}

/** The prompt's command ended before it was answered (stopped with Ctrl+C, or the session closed). */
export function withdrawn(): HostUiNotSupported {
  return new HostUiNotSupported('input: the command ended before the prompt was answered');
}
