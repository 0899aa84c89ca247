import { type ErrorCategory, PSRemotingError } from '@psremote/core';

/**
 * The stable error ids of the WinRM authentication layer (NTLM, SPNEGO, message encryption). Ours, prefixed
 * `WinRM`: PowerShell reports these failures through WinRM's own error text, with no id of its own.
 */
export type WinRMAuthErrorId =
  /** A token from the server is malformed: truncated, a length or offset outside the token, a wrong type. */
  | 'WinRMAuthTokenInvalid'
  /** The server chose what we refuse: no NTLMv2 session security, no Unicode, no 128-bit keys. */
  | 'WinRMAuthUnsupported'
  /** The server rejected the credentials (SPNEGO `reject`, or a 401 after the last leg). */
  | 'WinRMAuthRejected'
  /** A signature, sequence number or mechListMIC did not verify: tampering, or a broken peer. */
  | 'WinRMMessageIntegrity'
  /** An encrypted WinRM body (multipart/encrypted) is malformed. */
  | 'WinRMEncryptedBodyInvalid'
  /** The context was used out of order (wrap before authentication completed, authenticate twice). */
  | 'WinRMAuthState';

const CATEGORY: Record<WinRMAuthErrorId, ErrorCategory> = {
  WinRMAuthTokenInvalid: 'ProtocolError',
  WinRMAuthUnsupported: 'AuthenticationError',
  WinRMAuthRejected: 'AuthenticationError',
  WinRMMessageIntegrity: 'SecurityError',
  WinRMEncryptedBodyInvalid: 'ProtocolError',
  WinRMAuthState: 'InvalidOperation',
};

export function authError(errorId: WinRMAuthErrorId, message: string, cause?: unknown): PSRemotingError {
  return new PSRemotingError(message, { errorId, category: CATEGORY[errorId], cause });
}
