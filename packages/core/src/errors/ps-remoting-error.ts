import type { ErrorCategory } from './error-category.ts';
import type { ErrorId } from './error-ids.ts';

const BRAND = Symbol.for('@psremote/core:PSRemotingError');

/** The command whose errors psremote reports, as PowerShell names it in a FullyQualifiedErrorId. */
export const ENTER_PSSESSION_COMMAND = 'Microsoft.PowerShell.Commands.EnterPSSessionCommand';

export interface PSRemotingErrorOptions {
  /**
   * Stable id. Where PowerShell has one, its exact spelling (`AmbiguousParameterSet`). psremote's own are listed
   * in ERROR_IDS (error-ids.ts); any other string stays allowed for a third-party transport's ids and for ids a
   * server or a WinRM fault gives, which are passed on as they come.
   */
  readonly errorId: ErrorId | (string & {});
  readonly category: ErrorCategory;
  /** The offending argument, host, container name... */
  readonly targetObject?: unknown;
  /** What the user should do next (PowerShell's ErrorDetails.RecommendedAction). */
  readonly recommendedAction?: string;
  /** The command part of the FullyQualifiedErrorId; defaults to Enter-PSSession's cmdlet class. */
  readonly commandName?: string;
  readonly cause?: unknown;
}

/**
 * The one error type of psremote. Match on `errorId` (never on message text, never with `instanceof` across
 * package copies: use `isPSRemotingError`).
 */
export class PSRemotingError extends Error {
  readonly errorId: string;
  readonly category: ErrorCategory;
  readonly targetObject: unknown;
  readonly recommendedAction: string | undefined;
  readonly commandName: string;

  constructor(message: string, options: PSRemotingErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PSRemotingError';
    this.errorId = options.errorId;
    this.category = options.category;
    this.targetObject = options.targetObject;
    this.recommendedAction = options.recommendedAction;
    this.commandName = options.commandName ?? ENTER_PSSESSION_COMMAND;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `<errorId>,<command>`, exactly as PowerShell's error view prints it. */
  get fullyQualifiedErrorId(): string {
    return this.commandName ? `${this.errorId},${this.commandName}` : this.errorId;
  }
}

export function isPSRemotingError(e: unknown): e is PSRemotingError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}
