import type { PsrpProtocolError } from '@psremote/psrp';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';

/** The command part of PowerShell's FullyQualifiedErrorId for an error that broke an open session. */
export const SESSION_BROKEN_COMMAND = 'PSSessionStateBroken';

/**
 * OpenTimeout expired before the session opened. PowerShell's Enter-PSSession reports a failed open as
 * CreateRemoteRunspaceFailed (PushRunspaceCommand.WriteErrorCreateRemoteRunspaceFailed, ErrorCategory
 * InvalidArgument); WSMan's own message for it names the timeout, so does this one.
 */
export function openTimeoutError(computerName: string, openTimeoutMs: number): PSRemotingError {
  return new PSRemotingError(
    `Connecting to remote server ${computerName} failed: the session did not open within the OpenTimeout of ${formatSeconds(openTimeoutMs)}.`,
    {
      errorId: 'CreateRemoteRunspaceFailed',
      category: 'InvalidArgument',
      targetObject: computerName,
      recommendedAction:
        "Check that the server answers PowerShell remoting, or raise OpenTimeout: psremote --session-option @{OpenTimeout='00:05:00'} (or -SessionOption for -ComputerName).",
    },
  );
}

/** Ctrl+C (or the caller's signal) while opening. */
export function openCancelled(reason?: unknown): PSRemotingError {
  return new PSRemotingError('Opening the session was cancelled.', {
    errorId: 'OperationStopped',
    category: 'OperationStopped',
    ...(reason === undefined ? {} : { cause: reason }),
  });
}

/**
 * The engine refused data beyond MaximumReceivedObjectSize: PowerShell's PSRemotingTransportException
 * ReceivedObjectSizeExceededMaximumClient (RemotingErrorIdStrings.resx, the engine's text), the session Broken.
 * Undefined for other protocol errors.
 */
export function receiveLimitError(
  error: PsrpProtocolError,
  computerName: string,
): PSRemotingError | undefined {
  if (error.errorId !== 'ReceivedObjectSizeExceededMaximumClient') return undefined;
  return objectSizeError(error.message, computerName, error);
}

/** ReceivedObjectSizeExceededMaximumClient when only the limit is known (not the object's size). */
export function objectSizeExceededError(computerName: string, max: number, cause?: unknown): PSRemotingError {
  return objectSizeError(
    `The current deserialized object size of the data received from the remote server exceeded the allowed maximum object size. The allowed maximum object size is ${max}.`,
    computerName,
    cause,
  );
}

function objectSizeError(message: string, computerName: string, cause: unknown): PSRemotingError {
  return new PSRemotingError(message, {
    errorId: 'ReceivedObjectSizeExceededMaximumClient',
    category: 'OpenError',
    targetObject: computerName,
    commandName: SESSION_BROKEN_COMMAND,
    recommendedAction:
      'Raise the limit if the server is trusted: psremote --session-option @{MaximumReceivedObjectSize=<bytes>} ($null: no limit).',
    ...(cause === undefined ? {} : { cause }),
  });
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')} seconds`;
}

/**
 * How long Ctrl+C's stop may go unanswered before the session is ended: "a few seconds" (issue 10), or less when
 * CancelTimeout is shorter. A server that is alive answers a stop at once (OutOfProc SignalAck, WSMan's Signal
 * response) even when the command takes long to stop; no answer means the stream is stuck or the server gone.
 */
export const STOP_ANSWER_TIMEOUT_MS = 5000;

/** The stop got no answer in time: PowerShell's OutOfProc IPCSignalTimedOut (OutOfProcTransportManager.cs). */
export function stopNotAnsweredError(computerName: string, waitedMs: number): PSRemotingError {
  return new PSRemotingError(
    `The client did not receive a response for a signal operation in the specified time interval. This can happen when a command is not responding to a Stop message in a timely manner. The session to ${computerName} was ended after ${formatSeconds(waitedMs)} without an answer to Ctrl+C.`,
    {
      errorId: 'IPCSignalTimedOut',
      category: 'OperationTimeout',
      targetObject: computerName,
      commandName: SESSION_BROKEN_COMMAND,
    },
  );
}

/** The stop was answered but the command did not end within CancelTimeout. */
export function stopTimedOutError(computerName: string, cancelTimeoutMs: number): PSRemotingError {
  return new PSRemotingError(
    `The command did not stop within the CancelTimeout of ${formatSeconds(cancelTimeoutMs)}; the session to ${computerName} was ended.`,
    {
      errorId: 'PipelineStopTimedOut',
      category: 'OperationTimeout',
      targetObject: computerName,
      commandName: SESSION_BROKEN_COMMAND,
    },
  );
}

/** A second Ctrl+C while the command was still stopping: the user wants out now. */
export function interruptedAgainError(computerName: string): PSRemotingError {
  return new PSRemotingError(
    `Ctrl+C was pressed again while the command was stopping; the session to ${computerName} was ended.`,
    {
      errorId: 'SessionEndedByInterrupt',
      category: 'OperationStopped',
      targetObject: computerName,
      commandName: SESSION_BROKEN_COMMAND,
    },
  );
}

/** A pool call (SET_MAX_RUNSPACES, GET_AVAILABLE_RUNSPACES, ...) got no answer within OperationTimeout. */
export function poolCallTimedOut(computerName: string, operationTimeoutMs: number): PSRemotingError {
  return new PSRemotingError(
    `The runspace pool on ${computerName} did not answer within the OperationTimeout of ${formatSeconds(operationTimeoutMs)}.`,
    {
      errorId: 'PoolCallTimedOut',
      category: 'OperationTimeout',
      targetObject: computerName,
    },
  );
}

/** The caller's signal stopped the wait for a pool call's answer. */
export function poolCallStopped(reason?: unknown): PSRemotingError {
  return new PSRemotingError('The runspace pool call was stopped before the server answered.', {
    errorId: 'OperationStopped',
    category: 'OperationStopped',
    ...(reason === undefined ? {} : { cause: reason }),
  });
}
