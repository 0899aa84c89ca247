import {
  type ChoiceDescription,
  type Credential,
  type FieldDescription,
  type HostUi,
  HostUiNotSupported,
  type ProgressRecord,
  type PromptAnswer,
} from './host-ui.ts';

/** One thing a RecordingHostUi was asked to do. */
export type HostUiRecord =
  | {
      readonly kind: 'write';
      readonly text: string;
      readonly foreground?: number;
      readonly background?: number;
    }
  | { readonly kind: 'error' | 'warning' | 'verbose' | 'debug' | 'information'; readonly text: string }
  | { readonly kind: 'progress'; readonly sourceId: bigint; readonly record: ProgressRecord }
  | { readonly kind: 'ask'; readonly member: string; readonly caption?: string; readonly message?: string };

/** An answer queued for the next prompt of any kind. */
export type QueuedAnswer =
  | string
  | number
  | number[]
  | Credential
  | Record<string, PromptAnswer>
  | null
  | Error;

/**
 * A HostUi for programs and tests: it records what it is asked, collects written text, and answers prompts
 * from a queue of answers (an empty queue makes a prompt fail, as a non-interactive host does, never hang).
 */
export class RecordingHostUi implements HostUi {
  readonly interactive: boolean;
  readonly records: HostUiRecord[] = [];
  private readonly answers: QueuedAnswer[];

  constructor(options: { answers?: QueuedAnswer[]; interactive?: boolean } = {}) {
    this.answers = [...(options.answers ?? [])];
    this.interactive = options.interactive ?? this.answers.length > 0;
  }

  /** Everything written with Write/WriteLine, joined. */
  get text(): string {
    return this.records.map((r) => (r.kind === 'write' ? r.text : '')).join('');
  }

  /** Queues more answers. */
  answer(...answers: QueuedAnswer[]): void {
    this.answers.push(...answers);
  }

  private next(member: string, caption?: string, message?: string): QueuedAnswer {
    this.records.push({ kind: 'ask', member, caption, message });
    if (this.answers.length === 0)
      throw new HostUiNotSupported(`${member} (no answer queued, non-interactive host)`);
    const a = this.answers.shift() as QueuedAnswer;
    if (a instanceof Error) throw a;
    return a;
  }

  write(text: string, foreground?: number, background?: number): void {
    this.records.push({ kind: 'write', text, foreground, background });
  }
  writeLine(text = '', foreground?: number, background?: number): void {
    this.records.push({ kind: 'write', text: `${text}\n`, foreground, background });
  }
  writeErrorLine(text: string): void {
    this.records.push({ kind: 'error', text });
  }
  writeWarningLine(text: string): void {
    this.records.push({ kind: 'warning', text });
  }
  writeVerboseLine(text: string): void {
    this.records.push({ kind: 'verbose', text });
  }
  writeDebugLine(text: string): void {
    this.records.push({ kind: 'debug', text });
  }
  writeInformation(text: string): void {
    this.records.push({ kind: 'information', text });
  }
  writeProgress(sourceId: bigint, record: ProgressRecord): void {
    this.records.push({ kind: 'progress', sourceId, record });
  }
  async readLine(): Promise<string> {
    return String(this.next('ReadLine'));
  }
  async readLineAsSecureString(): Promise<string> {
    return String(this.next('ReadLineAsSecureString'));
  }
  async prompt(
    caption: string,
    message: string,
    fields: readonly FieldDescription[],
  ): Promise<Record<string, PromptAnswer>> {
    const a = this.next('Prompt', caption, message);
    // A plain answer (text, credential) answers the first field: the usual one-field prompt of Read-Host.
    if (
      typeof a === 'string' ||
      typeof a === 'number' ||
      a === null ||
      (typeof a === 'object' && 'userName' in a)
    ) {
      const name = fields[0]?.name ?? '';
      return { [name]: typeof a === 'number' ? String(a) : (a as PromptAnswer) };
    }
    return a as Record<string, PromptAnswer>;
  }
  async promptForCredential(
    caption: string,
    message: string,
    _userName?: string,
    _targetName?: string,
    _signal?: AbortSignal,
  ): Promise<Credential | null> {
    return this.next('PromptForCredential', caption, message) as Credential | null;
  }
  async promptForChoice(
    caption: string,
    message: string,
    _choices: readonly ChoiceDescription[],
    _defaultChoice: number,
  ): Promise<number> {
    return Number(this.next('PromptForChoice', caption, message));
  }
  async promptForChoiceMultiple(
    caption: string,
    message: string,
    _choices: readonly ChoiceDescription[],
    _defaults: readonly number[],
  ): Promise<number[]> {
    return this.next('PromptForChoiceMultiple', caption, message) as number[];
  }
}
