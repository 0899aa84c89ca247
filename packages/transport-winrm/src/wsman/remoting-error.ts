import { PSRemotingError } from '@psremote/core';
import { RESOURCE_URI_PREFIX } from '../url/wsman-endpoint.ts';
import { type WsmanError, WsmanFault, WsmanHttpError, WsmanTransportError } from './errors.ts';

/** Which WinRM call failed; PowerShell words the error by it ([PS] WSManTransportManager.cs callbacks). */
export type WsmanStep =
  | 'Create'
  | 'PoolSend'
  | 'PoolReceive'
  | 'Command'
  | 'CommandSend'
  | 'CommandReceive'
  | 'Signal'
  | 'Delete';

// WinRM error codes PowerShell gives names to in FullyQualifiedErrorIds ([PS] WSManTransportManager.cs:41-80,
// values from WSManNativeAPI.cs:43-140), as PowerShell's signed ints.
const ERROR_WSMAN_INVALID_RESOURCE_URI = -2144108485;
const ERROR_WSMAN_SENDDATA_CANNOT_CONNECT = -2144108526;
const ERROR_WSMAN_HTTP_SERVICE_ERROR = -2144108176;
const ERROR_ACCESS_DENIED = 5;
const ERROR_OPERATION_ABORTED = 995;
const TRANSPORT_ERROR_IDS = new Map<number, string>([
  [5, 'AccessDenied'],
  [14, 'ServerOutOfMemory'],
  [53, 'NetworkPathNotFound'],
  [-2144108103, 'ComputerNotFound'],
  [1311, 'AuthenticationFailed'],
  [1326, 'LogonFailure'],
  [1722, 'ImproperResponse'],
  [-2141974624, 'IncorrectProtocolVersion'],
  [-2144108250, 'WinRMOperationTimeout'],
  [-2144108269, 'URLNotAvailable'],
  [-2144108526, 'CannotConnect'],
  [-2144108485, 'InvalidResourceUri'],
  [-2144108083, 'CannotConnectAlreadyConnected'],
  [-2144108274, 'InvalidAuthentication'],
  [1115, 'ShutDownInProgress'],
  [-2144108080, 'CannotConnectInvalidOperation'],
  [-2144108090, 'CannotConnectMismatchSessions'],
  [-2144108065, 'CannotConnectRunAsFailed'],
  [-2144108094, 'SessionCreateFailedInvalidName'],
  [-2144108453, 'CannotConnectTargetSessionDoesNotExist'],
  [-2144108116, 'RemoteSessionDisallowed'],
  [-2144108061, 'RemoteConnectionDisallowed'],
  [-2144108542, 'InvalidResourceUri'],
  [-2144108539, 'CorruptedWinRMConfig'],
  [995, 'WinRMOperationAborted'],
  [-2144108499, 'URIExceedsMaxAllowedSize'],
  [-2144108318, 'ClientKerberosDisabled'],
  [-2144108316, 'ServerNotTrusted'],
  [-2144108276, 'WorkgroupCannotUseKerberos'],
  [-2144108315, 'ExplicitCredentialsRequired'],
  [-2144108105, 'RedirectLocationInvalid'],
  [-2144108135, 'RedirectInformationRequired'],
  [-2144108428, 'WinRMOperationNotSupportedOnServer'],
  [-2144108270, 'CannotConnectWinRMService'],
  [-2144108176, 'WinRMHttpError'],
  [-2146893053, 'TargetUnknown'],
  [-2144108101, 'CannotUseIPAddress'],
]);

const ERROR_WSMAN_NAME_NOT_RESOLVED = -2144108103;
/** 0x80338126: what WinRM reports when the destination does not answer in time (FQEID WinRMOperationTimeout). */
const ERROR_WSMAN_CANNOT_CONNECT_TIMEOUT = -2144108250;
/** ERROR_WINHTTP_SECURE_FAILURE: the server certificate was refused. */
const ERROR_WINHTTP_SECURE_FAILURE = 12175;
/** ERROR_WINHTTP_SECURE_CHANNEL_ERROR: the TLS handshake failed. */
const ERROR_WINHTTP_SECURE_CHANNEL_ERROR = 12157;

// The WinRM client's own texts for network failures (what PowerShell puts after "failed with the following error
// message :"), by the Node/undici error code that stands for the same failure.
const CANNOT_CONNECT_TEXT =
  'The client cannot connect to the destination specified in the request. Verify that the service on the destination is running and is accepting requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig".';
const NAME_NOT_RESOLVED_TEXT =
  'The WinRM client cannot process the request because the server name cannot be resolved.';
const TIMEOUT_TEXT =
  'WinRM cannot complete the operation. Verify that the specified computer name is valid, that the computer is accessible over the network, and that a firewall exception for the WinRM service is enabled and allows access from this computer. By default, the WinRM firewall exception for public profiles limits access to remote computers within the same local subnet.';
const SSL_TEXT =
  'The SSL connection cannot be established. Verify that the service on the remote host is properly configured to listen for HTTPS requests. Consult the logs and documentation for the WS-Management service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run the following command on the destination to analyze and configure the WinRM service: "winrm quickconfig -transport:https".';
const CERT_UNKNOWN_CA = 'The SSL certificate is signed by an unknown certificate authority.';
const CERT_CN = 'The SSL certificate contains a common name (CN) that does not match the hostname.';
const CERT_EXPIRED = 'The SSL certificate is expired.';

const UNKNOWN_CA_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
]);

/** The WinRM code and text for a request that got no answer, by its Node/undici error code. */
export function networkFailure(
  code: string,
  hostPort: string,
): { readonly code: number; readonly text: string } | undefined {
  if (code === 'AbortError')
    return {
      code: ERROR_OPERATION_ABORTED,
      text: 'The I/O operation has been aborted because of either a thread exit or an application request.',
    };
  if (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'UND_ERR_CLOSED'
  )
    return { code: ERROR_WSMAN_SENDDATA_CANNOT_CONNECT, text: CANNOT_CONNECT_TEXT };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL')
    return { code: ERROR_WSMAN_NAME_NOT_RESOLVED, text: NAME_NOT_RESOLVED_TEXT };
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'OperationTimeout'
  )
    return { code: ERROR_WSMAN_CANNOT_CONNECT_TIMEOUT, text: TIMEOUT_TEXT };
  const certError = UNKNOWN_CA_CODES.has(code)
    ? CERT_UNKNOWN_CA
    : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? CERT_CN
      : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
        ? CERT_EXPIRED
        : undefined;
  if (certError)
    return {
      code: ERROR_WINHTTP_SECURE_FAILURE,
      text: `The server certificate on the destination computer (${hostPort}) has the following errors: ${certError}`,
    };
  if (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS'))
    return { code: ERROR_WINHTTP_SECURE_CHANNEL_ERROR, text: SSL_TEXT };
  return undefined;
}

/** The `about_Remote_Troubleshooting` suffix (RemotingErrorIdStrings.TroubleShootingHelpTopic). */
const helpTopic = (m: string) =>
  `${m} For more information, see the about_Remote_Troubleshooting Help topic.`;

/** RemotingErrorIdStrings for each failing call ([PS] RemotingErrorIdStrings.resx). */
function stepMessage(step: WsmanStep, computer: string, detail: string): string {
  switch (step) {
    case 'Create':
      return `Connecting to remote server ${computer} failed with the following error message : ${detail}`;
    case 'PoolSend':
      return `Sending data to remote server ${computer} failed with the following error message : ${detail}`;
    case 'PoolReceive':
      return `Processing data from remote server ${computer} failed with the following error message: ${detail}`;
    case 'Command':
      return `Starting a command on the remote server failed with the following error message : ${detail}`;
    case 'CommandSend':
    case 'Signal':
      return `Sending data to a remote command failed with the following error message: ${detail}`;
    case 'CommandReceive':
      return `Processing data for a remote command failed with the following error message: ${detail}`;
    case 'Delete':
      return `Closing the remote server shell instance failed with the following error message : ${detail}`;
  }
}

/** PowerShell's picture of a transport failure. */
export interface TransportErrorDescription {
  /** PSRemotingTransportException.ErrorCode: the WinRM code as a signed int; 0 when there is none. */
  readonly errorCode: number;
  /** The WinRM-level text (the fault's message; psremote's own words for network and HTTP failures). */
  readonly transportMessage: string;
  /** The message PowerShell shows. */
  readonly message: string;
  /** `AccessDenied`, `CannotConnect`, or the code in decimal (GetFQEIDFromTransportError); undefined for 0. */
  readonly transportErrorId: string | undefined;
  /** What New-PSSession reports: `<transportErrorId>,PSSessionOpenFailed`. */
  readonly newPSSessionErrorId: string;
}

export interface ErrorContext {
  /** WSManConnectionInfo.ComputerName (`WsmanEndpoint.computerName`). */
  readonly computerName: string;
  /** `host:port` as WinRM names the destination in certificate errors; default the computer name. */
  readonly hostPort?: string;
  /** The shell resource URI, for the unknown-configuration message. */
  readonly resourceUri: string;
}

/** ParseEscapeWSManErrorMessage: `@{` quoted so a WinRM command line pastes into PowerShell. */
function escapeWsmanMessage(m: string): string {
  return m.includes('@{') ? m.replace(/@\{/g, "'@{").replace(/\}/g, "}'") : m;
}

/**
 * The message and ids PowerShell produces for a WS-Management failure
 * ([PS] WSManTransportManager.cs ConstructTransportErrorEventArgs, GetFQEIDFromTransportError):
 * `Connecting to remote server srv01 failed with the following error message : <WinRM text> For more information,
 * see the about_Remote_Troubleshooting Help topic.`; an unknown ConfigurationName gets InvalidConfigurationName's
 * own text. Never the XML of the response.
 */
export function describeTransportError(
  err: WsmanError,
  step: WsmanStep,
  ctx: ErrorContext,
): TransportErrorDescription {
  let code = 0;
  let transportMessage: string;
  if (err instanceof WsmanFault) {
    code = err.signedCode ?? 0;
    transportMessage = err.info.detail;
  } else if (err instanceof WsmanHttpError) {
    // WinRM reports a refused login as ERROR_ACCESS_DENIED, "Access is denied.".
    code = err.status === 401 ? ERROR_ACCESS_DENIED : ERROR_WSMAN_HTTP_SERVICE_ERROR;
    transportMessage = err.status === 401 ? 'Access is denied.' : err.message;
  } else if (err instanceof WsmanTransportError) {
    const known = networkFailure(err.code, ctx.hostPort ?? ctx.computerName);
    code = known?.code ?? ERROR_WSMAN_SENDDATA_CANNOT_CONNECT;
    transportMessage = known?.text ?? err.message;
  } else {
    transportMessage = `The server's response broke the WS-Management protocol: ${err.message}`;
  }
  const detail = escapeWsmanMessage(transportMessage);
  let message: string;
  if (step === 'Create' && code === ERROR_WSMAN_INVALID_RESOURCE_URI) {
    // RemotingErrorIdStrings.InvalidConfigurationName inside ConnectExCallBackError, no second help-topic line.
    const name = ctx.resourceUri.replace(RESOURCE_URI_PREFIX, '');
    message = stepMessage(
      'Create',
      ctx.computerName,
      `The WS-Management service cannot process the request. Cannot find the ${name} session configuration in the WSMan: drive on the ${ctx.computerName} computer. For more information, see the about_Remote_Troubleshooting Help topic.`,
    );
  } else {
    message = helpTopic(stepMessage(step, ctx.computerName, detail));
  }
  const transportErrorId = TRANSPORT_ERROR_IDS.get(code) ?? (code !== 0 ? String(code) : undefined);
  return {
    errorCode: code,
    transportMessage,
    message,
    transportErrorId,
    newPSSessionErrorId: transportErrorId ? `${transportErrorId},PSSessionOpenFailed` : 'PSSessionOpenFailed',
  };
}

/**
 * The PSRemotingError Enter-PSSession writes when opening fails: `CreateRemoteRunspaceFailed`, InvalidArgument,
 * the computer as target ([PS] PushRunspaceCommand.cs WriteErrorCreateRemoteRunspaceFailed; checked with pwsh
 * 7.6.9). The WsmanError rides along as `cause`.
 */
export function openFailedError(err: WsmanError, step: WsmanStep, ctx: ErrorContext): PSRemotingError {
  const d = describeTransportError(err, step, ctx);
  return new PSRemotingError(d.message, {
    errorId: 'CreateRemoteRunspaceFailed',
    category: 'InvalidArgument',
    targetObject: ctx.computerName,
    cause: err,
  });
}

/**
 * The reason a session breaks after it opened: PowerShell's text for the failing call and the FullyQualifiedErrorId
 * of a broken session, `<transport error id>,PSSessionStateBroken` ([PS] Job.cs, GetFQEIDFromTransportError), as a
 * ConnectionError (the session is Broken).
 */
export function brokenError(err: WsmanError, step: WsmanStep, ctx: ErrorContext): PSRemotingError {
  const d = describeTransportError(err, step, ctx);
  return new PSRemotingError(d.message, {
    errorId: d.transportErrorId ? `${d.transportErrorId},PSSessionStateBroken` : 'PSSessionStateBroken',
    category: 'ConnectionError',
    targetObject: ctx.computerName,
    commandName: '',
    cause: err,
  });
}
