import { type ErrorCategory, PSRemotingError } from '@psremote/core';

/**
 * The stable error ids of the SSH transport. PowerShell's own spelling where it has one
 * (`PSSessionInvalidComputerName`, `KeyFileNotFound`); ours, prefixed `Ssh`, where PowerShell only relays
 * the text of the `ssh` process.
 */
export type SshErrorId =
  | 'PSSessionInvalidComputerName'
  | 'KeyFileNotFound'
  | 'SshInvalidOption'
  | 'SshHostNotFound'
  | 'SshConnectionRefused'
  | 'SshHostUnreachable'
  | 'SshConnectionTimeout'
  | 'SshHandshakeFailed'
  | 'SshHostKeyUnknown'
  | 'SshHostKeyChanged'
  | 'SshHostKeyRevoked'
  | 'SshAuthenticationFailed'
  | 'SshSubsystemUnavailable'
  | 'SshConnectionLost'
  | 'SSHAbruptlyTerminated'
  | 'OperationStopped';

export function sshError(
  errorId: SshErrorId,
  category: ErrorCategory,
  message: string,
  extra: { targetObject?: unknown; recommendedAction?: string; cause?: unknown } = {},
): PSRemotingError {
  return new PSRemotingError(message, { errorId, category, ...extra });
}
