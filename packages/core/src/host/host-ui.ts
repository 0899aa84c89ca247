import type {
  ChoiceDescriptionInfo,
  Coordinates,
  FieldDescriptionInfo,
  ProgressRecordInfo,
  Size,
} from '@psremote/psrp';

export type { Coordinates, Size };

/**
 * The host/prompt protocol: everything the remote side (through host calls) and the transports (passwords,
 * host keys, passphrases) may ask of the user. The CLI implements it over the terminal; a library user may
 * implement it any way they like. Names follow PowerShell's PSHostUserInterface / PSHostRawUserInterface.
 */

/** System.ConsoleColor, by value. */
export type ConsoleColor = number;

/** A System.Management.Automation.ProgressRecord as received (the engine's decoded form). */
export type ProgressRecord = ProgressRecordInfo;

/** System.Management.Automation.Host.FieldDescription, as the Prompt host call carries it (the engine's decoded form). */
export type FieldDescription = FieldDescriptionInfo;

/** System.Management.Automation.Host.ChoiceDescription; `&` in the label marks the hot key (`&Yes`). */
export type ChoiceDescription = ChoiceDescriptionInfo;

/** A user name and password. The password stays a JS string in memory; the engine encodes it for the wire. */
export interface Credential {
  readonly userName: string;
  readonly password: string;
}

/** A value answered to a Prompt field: text, a SecureString (as plain text here) or a credential. */
export type PromptAnswer = string | string[] | { readonly secureString: string } | Credential | null;

export interface KeyInfo {
  readonly virtualKeyCode: number;
  readonly character: string;
  /** System.Management.Automation.Host.ControlKeyStates flags. */
  readonly controlKeyState: number;
  readonly keyDown: boolean;
}

/** The members of PSHostRawUserInterface that scripts use; all optional for non-terminal hosts. */
export interface RawUi {
  foregroundColor: ConsoleColor;
  backgroundColor: ConsoleColor;
  cursorPosition: Coordinates;
  windowPosition: Coordinates;
  cursorSize: number;
  bufferSize: Size;
  windowSize: Size;
  readonly maxWindowSize: Size;
  readonly maxPhysicalWindowSize: Size;
  windowTitle: string;
  readonly keyAvailable: boolean;
  /** ReadKeyOptions flags (IncludeKeyDown 4, IncludeKeyUp 8, NoEcho 2, AllowCtrlC 1). */
  readKey(options: number, signal?: AbortSignal): Promise<KeyInfo>;
  flushInputBuffer(): void;
}

/** Raised by a HostUi that cannot honour a request; the remote side gets PowerShell's host error reply. */
export class HostUiNotSupported extends Error {
  constructor(member: string) {
    super(`The host does not support ${member}.`);
    this.name = 'HostUiNotSupported';
  }
}

export interface HostUi {
  /** False when nobody can answer a prompt (stdin is not a terminal): prompts then fail fast, never hang. */
  readonly interactive: boolean;
  readonly rawUi?: RawUi;

  write(text: string, foreground?: ConsoleColor, background?: ConsoleColor): void;
  writeLine(text?: string, foreground?: ConsoleColor, background?: ConsoleColor): void;
  writeErrorLine(text: string): void;
  writeWarningLine(text: string): void;
  writeVerboseLine(text: string): void;
  writeDebugLine(text: string): void;
  /** An InformationRecord (Write-Information, Write-Host when not rendered through Write calls). */
  writeInformation(text: string): void;
  writeProgress(sourceId: bigint, record: ProgressRecord): void;
  /**
   * Backpressure for the write members above: when what they write to cannot take more for now (a terminal or pipe
   * nobody reads fast enough), a promise that settles once it can; otherwise undefined. The session then waits
   * before it reads the server's next message, so a server writing faster than the terminal shows is held in the
   * transport's bounded buffers, not in this process. Optional: a HostUi without it is never waited for.
   */
  drained?(): Promise<void> | undefined;

  readLine(signal?: AbortSignal): Promise<string>;
  /** Masked input; the typed text is returned in plain form for the engine to encode. */
  readLineAsSecureString(signal?: AbortSignal): Promise<string>;
  prompt(
    caption: string,
    message: string,
    fields: readonly FieldDescription[],
    signal?: AbortSignal,
  ): Promise<Record<string, PromptAnswer>>;
  promptForCredential(
    caption: string,
    message: string,
    userName: string,
    targetName: string,
    signal?: AbortSignal,
  ): Promise<Credential | null>;
  promptForChoice(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoice: number,
    signal?: AbortSignal,
  ): Promise<number>;
  promptForChoiceMultiple(
    caption: string,
    message: string,
    choices: readonly ChoiceDescription[],
    defaultChoices: readonly number[],
    signal?: AbortSignal,
  ): Promise<number[]>;
}
