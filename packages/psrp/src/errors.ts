/**
 * A violation of the PowerShell Remoting Protocol. `remote` tells who broke it: the peer (bad input) or our
 * own caller (an engine method used in the wrong state).
 */
export class PsrpProtocolError extends Error {
  readonly errorId: string;
  readonly remote: boolean;
  constructor(errorId: string, message: string, options: { cause?: unknown; remote?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PsrpProtocolError';
    this.errorId = errorId;
    this.remote = options.remote ?? true;
  }
}

/** An engine method called in a state that does not allow it (the caller's bug, not the peer's). */
export class InvalidStateError extends PsrpProtocolError {
  readonly action: string;
  readonly current: string;
  constructor(machine: string, action: string, current: string, expected: readonly string[]) {
    super(
      `Invalid${machine}State`,
      `Cannot ${action}: the ${machine} is ${current}${expected.length ? `; it must be ${expected.join(' or ')}` : ''}.`,
      { remote: false },
    );
    this.action = action;
    this.current = current;
  }
}
