import {
  type ChoiceDescription,
  type ConsoleColor,
  type Coordinates,
  type Credential,
  type FieldDescription,
  type HostUi,
  HostUiNotSupported,
  type KeyInfo,
  type ProgressRecord,
  type PromptAnswer,
  type RawUi,
  type Size,
} from '@psremote/core';

/** The host of the terminal a session's client sits at, as the agent reaches it over the socket. */
export interface HostChannel {
  readonly interactive: boolean;
  /** A method that answers: resolves with what the client's HostUi gave, rejects with its error. */
  call(method: string, args: readonly unknown[], signal?: AbortSignal): Promise<unknown>;
  /** A void method (writes): sent, not waited for; order is kept by the socket. */
  notify(method: string, args: readonly unknown[]): void;
  /** When the client does not read fast enough (its terminal is slow), a promise that settles once it does. */
  drained?(): Promise<void> | undefined;
}

/** The RawUI values the client sends with each request (its window as it is now). */
export interface RawUiSnapshot {
  foregroundColor: ConsoleColor;
  backgroundColor: ConsoleColor;
  cursorPosition: Coordinates;
  windowPosition: Coordinates;
  cursorSize: number;
  bufferSize: Size;
  windowSize: Size;
  maxWindowSize: Size;
  maxPhysicalWindowSize: Size;
  windowTitle: string;
}

export function rawUiSnapshot(hostUi: HostUi): RawUiSnapshot | null {
  const r = hostUi.rawUi;
  if (!r) return null;
  return {
    foregroundColor: r.foregroundColor,
    backgroundColor: r.backgroundColor,
    cursorPosition: r.cursorPosition,
    windowPosition: r.windowPosition,
    cursorSize: r.cursorSize,
    bufferSize: r.bufferSize,
    windowSize: r.windowSize,
    maxWindowSize: r.maxWindowSize,
    maxPhysicalWindowSize: r.maxPhysicalWindowSize,
    windowTitle: r.windowTitle,
  };
}

/**
 * The HostUi of a session held by the agent: it forwards each member to the terminal of the client that is in
 * the session (attached), and is a host without a user while nobody is (writes dropped, prompts refused with
 * HostUiNotSupported, which the server gets as PowerShell's RemoteHostExecutionException reply).
 */
export class RelayHostUi implements HostUi {
  private channel: HostChannel | undefined;
  private snapshot: RawUiSnapshot | null = null;
  private readonly raw: RawUi;

  constructor() {
    const get = <K extends keyof RawUiSnapshot>(k: K): RawUiSnapshot[K] => {
      if (!this.snapshot) throw new HostUiNotSupported(`RawUI.${k}`);
      return this.snapshot[k];
    };
    const set = <K extends keyof RawUiSnapshot>(k: K, v: RawUiSnapshot[K]) => {
      if (this.snapshot) this.snapshot[k] = v;
      this.channel?.notify('rawSet', [k, v]);
    };
    this.raw = {
      get foregroundColor() {
        return get('foregroundColor');
      },
      set foregroundColor(v) {
        set('foregroundColor', v);
      },
      get backgroundColor() {
        return get('backgroundColor');
      },
      set backgroundColor(v) {
        set('backgroundColor', v);
      },
      get cursorPosition() {
        return get('cursorPosition');
      },
      set cursorPosition(v) {
        set('cursorPosition', v);
      },
      get windowPosition() {
        return get('windowPosition');
      },
      set windowPosition(v) {
        set('windowPosition', v);
      },
      get cursorSize() {
        return get('cursorSize');
      },
      set cursorSize(v) {
        set('cursorSize', v);
      },
      get bufferSize() {
        return get('bufferSize');
      },
      set bufferSize(v) {
        set('bufferSize', v);
      },
      get windowSize() {
        return get('windowSize');
      },
      set windowSize(v) {
        set('windowSize', v);
      },
      get maxWindowSize() {
        return get('maxWindowSize');
      },
      get maxPhysicalWindowSize() {
        return get('maxPhysicalWindowSize');
      },
      get windowTitle() {
        return get('windowTitle');
      },
      set windowTitle(v) {
        set('windowTitle', v);
      },
      get keyAvailable() {
        return false;
      },
      readKey: (options: number, signal?: AbortSignal) =>
        this.ask<KeyInfo>('readKey', [options], signal, 'RawUI.ReadKey'),
      flushInputBuffer: () => this.channel?.notify('flushInputBuffer', []),
    };
  }

  /** The client now in the session (its HostUi answers), with its window as it is. */
  attach(channel: HostChannel, snapshot: RawUiSnapshot | null): void {
    this.channel = channel;
    this.snapshot = snapshot;
  }

  /** The window changed (sent with each command the client runs). */
  update(snapshot: RawUiSnapshot | null): void {
    if (snapshot) this.snapshot = snapshot;
  }

  /** Only `channel` is detached: a later client that attached stays. */
  detach(channel?: HostChannel): void {
    if (channel && this.channel !== channel) return;
    this.channel = undefined;
  }

  get interactive(): boolean {
    return this.channel?.interactive ?? false;
  }

  get rawUi(): RawUi | undefined {
    return this.snapshot ? this.raw : undefined;
  }

  private ask<T>(method: string, args: readonly unknown[], signal: AbortSignal | undefined, member: string) {
    const c = this.channel;
    if (!c) return Promise.reject(new HostUiNotSupported(member));
    return c.call(method, args, signal) as Promise<T>;
  }

  /** The attached client's socket is full (its terminal is slow): the session waits before the server's next message. */
  drained(): Promise<void> | undefined {
    return this.channel?.drained?.();
  }

  write(text: string, foreground?: ConsoleColor, background?: ConsoleColor): void {
    this.channel?.notify('write', [text, foreground ?? null, background ?? null]);
  }
  writeLine(text?: string, foreground?: ConsoleColor, background?: ConsoleColor): void {
    this.channel?.notify('writeLine', [text ?? null, foreground ?? null, background ?? null]);
  }
  writeErrorLine(text: string): void {
    this.channel?.notify('writeErrorLine', [text]);
  }
  writeWarningLine(text: string): void {
    this.channel?.notify('writeWarningLine', [text]);
  }
  writeVerboseLine(text: string): void {
    this.channel?.notify('writeVerboseLine', [text]);
  }
  writeDebugLine(text: string): void {
    this.channel?.notify('writeDebugLine', [text]);
  }
  writeInformation(text: string): void {
    this.channel?.notify('writeInformation', [text]);
  }
  writeProgress(sourceId: bigint, record: ProgressRecord): void {
    this.channel?.notify('writeProgress', [sourceId.toString(), record]);
  }
  readLine(signal?: AbortSignal): Promise<string> {
    return this.ask('readLine', [], signal, 'ReadLine');
  }
  readLineAsSecureString(signal?: AbortSignal): Promise<string> {
    return this.ask('readLineAsSecureString', [], signal, 'ReadLineAsSecureString');
  }
  prompt(
    caption: string,
    message: string,
    fields: readonly FieldDescription[],
    signal?: AbortSignal,
  ): Promise<Record<string, PromptAnswer>> {
    return this.ask('prompt', [caption, message, fields], signal, 'Prompt');
  }
  promptForCredential(
    caption: string,
    message: string,
    userName: string,
    targetName: string,
    signal?: AbortSignal,
  ): Promise<Credential | null> {
    return this.ask(
      'promptForCredential',
      [caption, message, userName, targetName],
      signal,
      'PromptForCredential',
    );
  }
  promptForChoice(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoice: number,
    signal?: AbortSignal,
  ): Promise<number> {
    return this.ask('promptForChoice', [caption, message, choices, defaultChoice], signal, 'PromptForChoice');
  }
  promptForChoiceMultiple(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoices: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]> {
    return this.ask(
      'promptForChoiceMultiple',
      [caption, message, choices, defaultChoices],
      signal,
      'PromptForChoiceMultiple',
    );
  }
}

const ASKING = new Set([
  'readLine',
  'readLineAsSecureString',
  'prompt',
  'promptForCredential',
  'promptForChoice',
  'promptForChoiceMultiple',
  'readKey',
]);
const WRITING = new Set([
  'write',
  'writeLine',
  'writeErrorLine',
  'writeWarningLine',
  'writeVerboseLine',
  'writeDebugLine',
  'writeInformation',
]);

/**
 * The client's side: runs a member the agent forwarded on the terminal's HostUi. Only HostUi's own members are
 * run (the agent is trusted, but a name is still checked before it is called).
 */
export async function answerHostCall(
  hostUi: HostUi,
  method: string,
  args: readonly unknown[],
  signal?: AbortSignal,
): Promise<unknown> {
  const ui = hostUi as unknown as Record<string, (...a: unknown[]) => unknown>;
  if (WRITING.has(method)) {
    const a = args.map((x) => (x === null ? undefined : x));
    ui[method]?.apply(hostUi, a);
    return undefined;
  }
  if (method === 'writeProgress') {
    hostUi.writeProgress(BigInt(String(args[0] ?? '0')), args[1] as ProgressRecord);
    return undefined;
  }
  if (method === 'rawSet') {
    const raw = hostUi.rawUi as unknown as Record<string, unknown> | undefined;
    const key = String(args[0]);
    if (raw && key in raw) {
      try {
        raw[key] = args[1];
      } catch {
        // A read-only member of this terminal: nothing to set.
      }
    }
    return undefined;
  }
  if (method === 'flushInputBuffer') {
    hostUi.rawUi?.flushInputBuffer();
    return undefined;
  }
  if (method === 'readKey') {
    if (!hostUi.rawUi) throw new HostUiNotSupported('RawUI.ReadKey');
    return hostUi.rawUi.readKey(Number(args[0]), signal);
  }
  if (ASKING.has(method)) return await ui[method]?.apply(hostUi, [...args, signal]);
  throw new HostUiNotSupported(method);
}
