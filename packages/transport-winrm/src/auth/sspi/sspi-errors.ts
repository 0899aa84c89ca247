import { KERBEROS_CAUSES, KerberosAuthError, type KerberosFailure } from '../gssapi/gss-errors.ts';

/** What SSPI said: the call and its SECURITY_STATUS. */
export interface SspiStatus {
  readonly call: string;
  /** The SECURITY_STATUS, unsigned (0x8009030C). */
  readonly code: number;
  readonly text: string;
}

/** A failure reported by SSPI (before it is worded as WinRM would). */
export class SspiError extends Error {
  readonly status: SspiStatus;
  constructor(call: string, code: number, text?: string) {
    const c = code >>> 0;
    const t = text ?? sspiStatusText(c);
    super(`${call}: ${t} (${hex8(c)})`);
    this.name = 'SspiError';
    this.status = { call, code: c, text: t };
  }
}

const hex8 = (code: number) => `0x${(code >>> 0).toString(16).padStart(8, '0')}`;

/** winerror.h's codes for the statuses psremote words, with the system's message for each (FormatMessage's). */
export const SEC_E = {
  INSUFFICIENT_MEMORY: 0x80090300,
  INVALID_HANDLE: 0x80090301,
  UNSUPPORTED_FUNCTION: 0x80090302,
  TARGET_UNKNOWN: 0x80090303,
  INTERNAL_ERROR: 0x80090304,
  SECPKG_NOT_FOUND: 0x80090305,
  INVALID_TOKEN: 0x80090308,
  QOP_NOT_SUPPORTED: 0x8009030a,
  LOGON_DENIED: 0x8009030c,
  UNKNOWN_CREDENTIALS: 0x8009030d,
  NO_CREDENTIALS: 0x8009030e,
  MESSAGE_ALTERED: 0x8009030f,
  OUT_OF_SEQUENCE: 0x80090310,
  NO_AUTHENTICATING_AUTHORITY: 0x80090311,
  CONTEXT_EXPIRED: 0x80090317,
  INCOMPLETE_MESSAGE: 0x80090318,
  BUFFER_TOO_SMALL: 0x80090321,
  WRONG_PRINCIPAL: 0x80090322,
  TIME_SKEW: 0x80090324,
  ILLEGAL_MESSAGE: 0x80090326,
  DECRYPT_FAILURE: 0x80090330,
  NO_TGT_REPLY: 0x80090334,
  KDC_UNABLE_TO_REFER: 0x80090341,
  KDC_UNKNOWN_ETYPE: 0x80090342,
  UNSUPPORTED_PREAUTH: 0x80090343,
  BAD_BINDINGS: 0x80090346,
  NO_KERB_KEY: 0x80090348,
  DOWNGRADE_DETECTED: 0x80090350,
  MUTUAL_AUTH_FAILED: 0x80090363,
} as const;

const TEXTS = new Map<number, string>([
  [SEC_E.INSUFFICIENT_MEMORY, 'Not enough memory is available to complete this request'],
  [SEC_E.INVALID_HANDLE, 'The handle specified is invalid'],
  [SEC_E.UNSUPPORTED_FUNCTION, 'The function requested is not supported'],
  [SEC_E.TARGET_UNKNOWN, 'The specified target is unknown or unreachable'],
  [SEC_E.INTERNAL_ERROR, 'The Local Security Authority cannot be contacted'],
  [SEC_E.SECPKG_NOT_FOUND, 'The requested security package does not exist'],
  [SEC_E.INVALID_TOKEN, 'The token supplied to the function is invalid'],
  [SEC_E.QOP_NOT_SUPPORTED, 'The per-message Quality of Protection is not supported by the security package'],
  [SEC_E.LOGON_DENIED, 'The logon attempt failed'],
  [SEC_E.UNKNOWN_CREDENTIALS, 'The credentials supplied to the package were not recognized'],
  [SEC_E.NO_CREDENTIALS, 'No credentials are available in the security package'],
  [SEC_E.MESSAGE_ALTERED, 'The message or signature supplied for verification has been altered'],
  [SEC_E.OUT_OF_SEQUENCE, 'The message supplied for verification is out of sequence'],
  [SEC_E.NO_AUTHENTICATING_AUTHORITY, 'No authority could be contacted for authentication.'],
  [SEC_E.CONTEXT_EXPIRED, 'The context has expired and can no longer be used.'],
  [SEC_E.INCOMPLETE_MESSAGE, 'The supplied message is incomplete.  The signature was not verified.'],
  [SEC_E.BUFFER_TOO_SMALL, 'The buffers supplied to a function was too small.'],
  [SEC_E.WRONG_PRINCIPAL, 'The target principal name is incorrect.'],
  [SEC_E.TIME_SKEW, 'The clocks on the client and server machines are skewed.'],
  [SEC_E.ILLEGAL_MESSAGE, 'The message received was unexpected or badly formatted.'],
  [SEC_E.DECRYPT_FAILURE, 'The specified data could not be decrypted.'],
  [
    SEC_E.NO_TGT_REPLY,
    'The client is trying to negotiate a context and the server requires user-to-user but did not send a TGT reply.',
  ],
  [SEC_E.KDC_UNABLE_TO_REFER, 'The KDC was unable to generate a referral for the service requested.'],
  [SEC_E.KDC_UNKNOWN_ETYPE, 'The encryption type requested is not supported by the KDC.'],
  [
    SEC_E.UNSUPPORTED_PREAUTH,
    'An unsupported preauthentication mechanism was presented to the Kerberos package.',
  ],
  [SEC_E.BAD_BINDINGS, "Client's supplied SSPI channel bindings were incorrect."],
  [SEC_E.NO_KERB_KEY, 'No Kerberos key was found.'],
  [
    SEC_E.DOWNGRADE_DETECTED,
    'The system cannot contact a domain controller to service the authentication request. Please try again later.',
  ],
  [SEC_E.MUTUAL_AUTH_FAILED, 'The identity of the server computer could not be verified.'],
]);

/** The system's message for a status, or its number. */
export function sspiStatusText(code: number): string {
  return TEXTS.get(code >>> 0) ?? `SSPI status ${hex8(code)}`;
}

/**
 * The failure kind of an SSPI status, in the terms the GSSAPI path uses (so Negotiate's decisions and the tests are
 * the same on every platform). SSPI folds a wrong password, an unknown user and a disabled account into
 * SEC_E_LOGON_DENIED (the sub-status is not returned to the client): all three read as LogonDenied.
 */
export function classifySspiStatus(code: number): KerberosFailure {
  switch (code >>> 0) {
    case SEC_E.LOGON_DENIED:
    case SEC_E.UNKNOWN_CREDENTIALS:
      return 'LogonDenied';
    case SEC_E.TARGET_UNKNOWN:
    case SEC_E.WRONG_PRINCIPAL:
      return 'TargetUnknown';
    case SEC_E.TIME_SKEW:
      return 'ClockSkew';
    case SEC_E.NO_AUTHENTICATING_AUTHORITY:
    case SEC_E.DOWNGRADE_DETECTED:
    case SEC_E.KDC_UNABLE_TO_REFER:
      return 'KdcUnreachable';
    case SEC_E.NO_CREDENTIALS:
    case SEC_E.CONTEXT_EXPIRED:
      return 'NoCredentials';
    case SEC_E.MUTUAL_AUTH_FAILED:
    case SEC_E.MESSAGE_ALTERED:
    case SEC_E.BAD_BINDINGS:
      return 'MutualAuthFailed';
    case SEC_E.SECPKG_NOT_FOUND:
      return 'NotConfigured';
    default:
      return 'Other';
  }
}

/**
 * An SSPI failure as PowerShell shows it: WinRM puts the SSPI status itself in its text (`The following error with
 * errorcode 0x8009030c occurred while using Kerberos authentication: ...`), and New-PSSession's FQEID carries it as
 * a signed int. Here the code is the real one, not a GSSAPI translation.
 */
export function sspiFailure(
  e: SspiError,
  computerName: string,
  pkg: 'Kerberos' | 'Negotiate',
  failureOverride?: KerberosFailure,
): KerberosAuthError {
  const { code, text } = e.status;
  const failure = failureOverride ?? classifySspiStatus(code);
  const transportMessage = `WinRM cannot process the request. The following error with errorcode ${hex8(code)} occurred while using ${pkg} authentication: ${text} (SSPI: ${e.status.call})${pkg === 'Kerberos' ? KERBEROS_CAUSES : ''}`;
  return new KerberosAuthError({
    failure,
    errorCode: code | 0,
    transportMessage,
    computerName,
    cause: e,
  });
}
