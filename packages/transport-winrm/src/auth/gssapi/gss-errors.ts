import { type ErrorCategory, PSRemotingError } from '@psremote/core';

/** Why the GSSAPI layer cannot be used at all on this machine. */
export type GssUnavailableReason =
  /** koffi (the FFI module) could not be loaded. */
  | 'KoffiMissing'
  /** No GSSAPI library (or one without the IOV calls MS-WSMV encryption needs). */
  | 'LibraryMissing'
  /**
   * Windows: GSSAPI is not used there (Kerberos and Negotiate go through SSPI; CredSSP's inner Kerberos is not bound
   * to SSPI yet), or SSPI on an architecture it is not implemented for (32-bit).
   */
  | 'Windows'
  /** PSREMOTE_GSSAPI=off. */
  | 'Disabled';

/**
 * Kerberos cannot be used here at all. errorId `KerberosNotAvailable` (ours: PowerShell on Windows always has SSPI),
 * category NotInstalled; `-Authentication Negotiate` with -Credential falls back to psremote's own NTLM instead.
 */
export class GssUnavailableError extends PSRemotingError {
  readonly reason: GssUnavailableReason;
  constructor(message: string, reason: GssUnavailableReason, cause?: unknown) {
    super(message, {
      errorId: 'KerberosNotAvailable',
      category: reason === 'Windows' ? 'NotImplemented' : 'NotInstalled',
      cause,
      recommendedAction:
        reason === 'Windows'
          ? 'Use -Authentication Negotiate or Kerberos (through SSPI, on 64-bit Windows), or Basic over HTTPS.'
          : 'Install the system Kerberos libraries (Debian/Ubuntu: libgssapi-krb5-2 krb5-user), or use -Authentication Negotiate with -Credential (NTLM).',
    });
    this.name = 'GssUnavailableError';
    this.reason = reason;
  }
}

export function gssUnavailable(
  message: string,
  reason: GssUnavailableReason,
  cause?: unknown,
): GssUnavailableError {
  return new GssUnavailableError(message, reason, cause);
}

/** The failure, classified; stable (match on this, never on the text). */
export type KerberosFailure =
  /** The KDC refused the password (pre-authentication failed). */
  | 'LogonDenied'
  /** The KDC does not know the user. */
  | 'PrincipalUnknown'
  /** The account is disabled, locked or its password expired. */
  | 'AccountRestricted'
  /** The KDC does not know the service principal (`HTTP/host`). */
  | 'TargetUnknown'
  /** This machine's clock and the KDC's (or the server's) differ more than the allowed skew. */
  | 'ClockSkew'
  /** No KDC answered (down, unreachable, unknown realm), or not within the time limit. */
  | 'KdcUnreachable'
  /** This machine has no usable Kerberos configuration (no default realm, no krb5.conf). */
  | 'NotConfigured'
  /** Implicit credentials: no ticket-granting ticket (no kinit, expired, no ccache). */
  | 'NoCredentials'
  /** The server's answer did not prove it holds the service key (mutual authentication failed). */
  | 'MutualAuthFailed'
  /** A target PowerShell refuses for Kerberos before anything goes on the wire (IP address, localhost). */
  | 'TargetNotAllowed'
  /** Anything else the library reported. */
  | 'Other';

/** GSSAPI's own words for a failure: major and minor status and gss_display_status text. */
export interface GssStatus {
  readonly major: number;
  /** The mechanism's code: for Kerberos a krb5 com_err code (KRB5KDC_ERR_PREAUTH_FAILED ...), signed. */
  readonly minor: number;
  readonly text: string;
  /** The call that failed: `gss_init_sec_context`, ... */
  readonly call: string;
}

/** A failure reported by the GSSAPI library (before it is worded as WinRM would). */
export class GssError extends Error {
  readonly status: GssStatus;
  constructor(status: GssStatus) {
    super(`${status.call}: ${status.text}`);
    this.name = 'GssError';
    this.status = status;
  }
}

// krb5 com_err codes (MIT krb5.h; Heimdal uses the same values for these): ERROR_TABLE_BASE_krb5 + n.
const KRB5 = {
  C_PRINCIPAL_UNKNOWN: -1765328378,
  S_PRINCIPAL_UNKNOWN: -1765328377,
  POLICY: -1765328372,
  CLIENT_REVOKED: -1765328366,
  KEY_EXP: -1765328361,
  PREAUTH_FAILED: -1765328360,
  AP_BAD_INTEGRITY: -1765328353,
  AP_TKT_EXPIRED: -1765328352,
  AP_SKEW: -1765328347,
  AP_MODIFIED: -1765328343,
  CC_NOTFOUND: -1765328243,
  KDCREP_SKEW: -1765328236,
  REALM_UNKNOWN: -1765328230,
  KDC_UNREACH: -1765328228,
  FCC_NOFILE: -1765328189,
  PREAUTH_FAILED_LIB: -1765328174,
  REALM_CANT_RESOLVE: -1765328164,
  HOST_REALM_UNKNOWN: -1765328167,
  CONFIG_NODEFREALM: -1765328160,
  CONFIG_CANTOPEN: -1765328249,
  CONFIG_BADFORMAT: -1765328248,
} as const;
// GSS major routine errors (RFC 2744 3.9.1), shifted into place.
const GSS_S_NO_CRED = 7 << 16;
const GSS_S_CREDENTIALS_EXPIRED = 11 << 16;
const GSS_S_DEFECTIVE_TOKEN = 9 << 16;
const GSS_S_BAD_SIG = 6 << 16;

/** The failure kind of a GSSAPI status. `stage`: whether the error came while getting tickets or from the server. */
export function classifyGssStatus(status: GssStatus): KerberosFailure {
  const routine = status.major & 0x00ff0000;
  switch (status.minor) {
    case KRB5.PREAUTH_FAILED:
    case KRB5.PREAUTH_FAILED_LIB:
    case KRB5.AP_BAD_INTEGRITY:
      // BAD_INTEGRITY comes from the AS reply decrypted with a key made from the wrong password (no pre-auth).
      return status.call === 'gss_init_sec_context' && routine === GSS_S_BAD_SIG
        ? 'MutualAuthFailed'
        : 'LogonDenied';
    case KRB5.C_PRINCIPAL_UNKNOWN:
      return 'PrincipalUnknown';
    case KRB5.CLIENT_REVOKED:
    case KRB5.KEY_EXP:
    case KRB5.POLICY:
      return 'AccountRestricted';
    case KRB5.S_PRINCIPAL_UNKNOWN:
      return 'TargetUnknown';
    case KRB5.AP_SKEW:
    case KRB5.KDCREP_SKEW:
      return 'ClockSkew';
    case KRB5.KDC_UNREACH:
    case KRB5.REALM_UNKNOWN:
    case KRB5.REALM_CANT_RESOLVE:
      return 'KdcUnreachable';
    case KRB5.CONFIG_NODEFREALM:
    case KRB5.CONFIG_CANTOPEN:
    case KRB5.CONFIG_BADFORMAT:
    case KRB5.HOST_REALM_UNKNOWN:
      return 'NotConfigured';
    case KRB5.FCC_NOFILE:
    case KRB5.CC_NOTFOUND:
    case KRB5.AP_TKT_EXPIRED:
      return 'NoCredentials';
    case KRB5.AP_MODIFIED:
      return 'MutualAuthFailed';
  }
  if (routine === GSS_S_NO_CRED || routine === GSS_S_CREDENTIALS_EXPIRED) return 'NoCredentials';
  if (routine === GSS_S_BAD_SIG || (routine === GSS_S_DEFECTIVE_TOKEN && status.minor === 0))
    return 'MutualAuthFailed';
  return 'Other';
}

/**
 * What a Windows client reports for each failure: the SSPI status (the `errorcode 0x...` WinRM puts in its text,
 * and PowerShell's error code as a signed int) and its message (winerror.h, or the sub-status text WinRM shows, as
 * seen in published WinRM errors for 0x80090311 and 0x8009030e). Not checked against a Windows client here.
 */
const SSPI: Record<Exclude<KerberosFailure, 'TargetNotAllowed'>, { code: number; text: string }> = {
  LogonDenied: { code: 0x8009030c, text: 'The user name or password is incorrect.' },
  PrincipalUnknown: { code: 0x8009030c, text: 'The user name or password is incorrect.' },
  AccountRestricted: { code: 0x8009030c, text: 'The logon attempt failed' },
  TargetUnknown: { code: 0x80090303, text: 'The specified target is unknown or unreachable' },
  ClockSkew: { code: 0x80090324, text: 'The clocks on the client and server machines are skewed.' },
  KdcUnreachable: {
    code: 0x80090311,
    text: 'There are currently no logon servers available to service the logon request.',
  },
  NotConfigured: {
    code: 0x80090311,
    text: 'There are currently no logon servers available to service the logon request.',
  },
  NoCredentials: {
    code: 0x8009030e,
    text: 'A specified logon session does not exist. It may already have been terminated.',
  },
  MutualAuthFailed: { code: 0x80090322, text: 'An unknown security error occurred.' },
  Other: { code: 0x80090304, text: 'An unknown security error occurred.' },
};

/** WinRM's list of causes after a Kerberos failure (what PowerShell prints under it). */
export const KERBEROS_CAUSES =
  '\n Possible causes are:\n' +
  '  -The user name or password specified are invalid.\n' +
  '  -Kerberos is used when no authentication method and no user name are specified.\n' +
  '  -Kerberos accepts domain user names, but not local user names.\n' +
  '  -The Service Principal Name (SPN) for the remote computer name and port does not exist.\n' +
  '  -The client and remote computers are in different domains and there is no trust between the two domains.\n' +
  ' After checking for the above issues, try the following:\n' +
  '  -Check the Event Viewer for events related to authentication.\n' +
  '  -Change the authentication method; add the destination computer to the WinRM TrustedHosts configuration setting or use HTTPS transport.\n' +
  ' Note that computers in the TrustedHosts list might not be authenticated.\n' +
  '   -For more information about WinRM configuration, run the following command: winrm help config.';

export interface KerberosErrorOptions {
  readonly failure: KerberosFailure;
  /** The WinRM/SSPI code as PowerShell's signed int (0x8009030C -> -2146893044). */
  readonly errorCode: number;
  /** The WinRM-level text (after "failed with the following error message :"). */
  readonly transportMessage: string;
  readonly computerName: string;
  readonly gss?: GssStatus;
  readonly cause?: unknown;
}

/**
 * A Kerberos failure worded as PowerShell shows it: `Connecting to remote server srv01 failed with the following
 * error message : WinRM cannot process the request. The following error with errorcode 0x8009030c occurred while
 * using Kerberos authentication: ... For more information, see the about_Remote_Troubleshooting Help topic.`
 * errorId `CreateRemoteRunspaceFailed` (what Enter-PSSession reports for every transport failure); `failure`,
 * `errorCode` and `transportErrorId` (New-PSSession's `-2146893044,PSSessionOpenFailed`) say which.
 */
export class KerberosAuthError extends PSRemotingError {
  readonly failure: KerberosFailure;
  readonly errorCode: number;
  readonly transportMessage: string;
  /** PowerShell's FQEID part for the code: the code in decimal, or its name for the ones PowerShell names. */
  readonly transportErrorId: string;
  readonly gss: GssStatus | undefined;
  constructor(o: KerberosErrorOptions) {
    const category: ErrorCategory =
      o.failure === 'TargetNotAllowed'
        ? 'InvalidArgument'
        : o.failure === 'KdcUnreachable'
          ? 'ConnectionError'
          : 'AuthenticationError';
    super(
      `Connecting to remote server ${o.computerName} failed with the following error message : ${o.transportMessage} For more information, see the about_Remote_Troubleshooting Help topic.`,
      { errorId: 'CreateRemoteRunspaceFailed', category, targetObject: o.computerName, cause: o.cause },
    );
    this.name = 'KerberosAuthError';
    this.failure = o.failure;
    this.errorCode = o.errorCode;
    this.transportMessage = o.transportMessage;
    this.transportErrorId = TRANSPORT_IDS.get(o.errorCode) ?? String(o.errorCode);
    this.gss = o.gss;
  }
  /** What New-PSSession reports: `<transportErrorId>,PSSessionOpenFailed`. */
  get newPSSessionErrorId(): string {
    return `${this.transportErrorId},PSSessionOpenFailed`;
  }
}

// PowerShell's names for some codes ([PS] WSManTransportManager.cs, WSManNativeAPI.cs).
const TRANSPORT_IDS = new Map<number, string>([
  [-2146893053, 'TargetUnknown'],
  [-2144108276, 'WorkgroupCannotUseKerberos'],
  [-2144108274, 'InvalidAuthentication'],
  [-2144108315, 'ExplicitCredentialsRequired'],
]);

const signed = (code: number) => code | 0;
const hex8 = (code: number) => `0x${(code >>> 0).toString(16).padStart(8, '0')}`;

/** The error PowerShell would show for a GSSAPI failure while authenticating with `pkg` (Kerberos or Negotiate). */
export function kerberosFailure(
  gss: GssError,
  computerName: string,
  pkg: 'Kerberos' | 'Negotiate' = 'Kerberos',
  failureOverride?: KerberosFailure,
): KerberosAuthError {
  const failure = failureOverride ?? classifyGssStatus(gss.status);
  const sspi = SSPI[failure === 'TargetNotAllowed' ? 'Other' : failure];
  // The library's own words ride along: on Linux they say what the KDC said ("Clock skew too great").
  const transportMessage = `WinRM cannot process the request. The following error with errorcode ${hex8(sspi.code)} occurred while using ${pkg} authentication: ${sspi.text} (GSSAPI: ${gss.status.text})${pkg === 'Kerberos' ? KERBEROS_CAUSES : ''}`;
  return new KerberosAuthError({
    failure,
    errorCode: signed(sspi.code),
    transportMessage,
    computerName,
    gss: gss.status,
    cause: gss,
  });
}

/** KdcUnreachable because no KDC answered within the time limit (the library call is still waiting). */
export function kdcTimeout(
  computerName: string,
  ms: number,
  pkg: 'Kerberos' | 'Negotiate',
): KerberosAuthError {
  return kerberosFailure(
    new GssError({
      major: 0,
      minor: 0,
      text: `no answer from the KDC within ${ms} ms`,
      call: 'gss_init_sec_context',
    }),
    computerName,
    pkg,
    'KdcUnreachable',
  );
}

/** ERROR_WSMAN_KERBEROS_IPADDRESS (0x8033810B) and ERROR_WSMAN_SERVER_DESTINATION_LOCALHOST (0x8033810E). */
export function targetNotAllowed(computerName: string, kind: 'ip' | 'localhost'): KerberosAuthError {
  const code = kind === 'ip' ? 0x8033810b : 0x8033810e;
  const transportMessage =
    kind === 'ip'
      ? 'The WinRM client cannot process the request. Kerberos authentication cannot be used when the destination is an IP address. Specify a DNS or NetBIOS destination or specify Basic or Negotiate authentication.'
      : 'The WinRM client cannot process the request. If you do not specify an authentication mechanism or you specify Kerberos, then you cannot use "localhost" or "127.0.0.1" or "[::1]" for the remote host name. You can explicitly specify a different authentication mechanism than Kerberos or specify the remote host as a DNS name or NetBIOS name.';
  return new KerberosAuthError({
    failure: 'TargetNotAllowed',
    errorCode: signed(code),
    transportMessage,
    computerName,
  });
}

/**
 * ERROR_WSMAN_CLIENT_WORKGROUP_NO_KERBEROS's situation on Unix: Negotiate with the current user's credentials found
 * no Kerberos ticket, and NTLM with implicit credentials needs the logon session Windows has and Unix has not.
 */
export function implicitNeedsKerberos(computerName: string, why: KerberosAuthError): KerberosAuthError {
  return new KerberosAuthError({
    failure: why.failure,
    errorCode: why.errorCode,
    transportMessage: `${why.transportMessage.replace(KERBEROS_CAUSES, '')} Negotiate without -Credential needs a Kerberos ticket of the current user (kinit): this system has no logon session to take NTLM credentials from. Run kinit, or give -Credential.`,
    computerName,
    ...(why.gss ? { gss: why.gss } : {}),
    cause: why,
  });
}

/**
 * ERROR_WSMAN_EXPLICIT_CREDENTIALS_REQUIRED (0x803380E5): Negotiate with the current user's credentials where
 * Kerberos cannot be used (an IP address, localhost): Windows would use NTLM with the logon session; there is none
 * here.
 */
export function explicitCredentialsRequired(computerName: string, why: string): KerberosAuthError {
  return new KerberosAuthError({
    failure: 'NoCredentials',
    errorCode: 0x803380e5 | 0,
    transportMessage: `The WinRM client cannot process the request. Default credentials with Negotiate over HTTP can be used only if the target machine is part of the TrustedHosts list or the Allow implicit credentials for Negotiate option is specified. (${why} ${
      process.platform === 'win32'
        ? 'psremote has no TrustedHosts list: give -Credential.'
        : "Without -Credential psremote can only use the current user's Kerberos tickets: this system has no Windows logon session to take NTLM credentials from. Give -Credential."
    })`,
    computerName,
  });
}
