import type { ErrorCategory } from './error-category.ts';

/** Where an id comes from: PowerShell's own (same spelling, so scripts that match it keep working) or ours. */
export type ErrorIdOrigin = 'powershell' | 'psremote';

export interface ErrorIdInfo {
  /** The categories it is raised with; the first is the usual one. */
  readonly categories: readonly [ErrorCategory, ...ErrorCategory[]];
  readonly origin: ErrorIdOrigin;
}

const ps = (...categories: [ErrorCategory, ...ErrorCategory[]]): ErrorIdInfo => ({
  categories,
  origin: 'powershell',
});
const ours = (...categories: [ErrorCategory, ...ErrorCategory[]]): ErrorIdInfo => ({
  categories,
  origin: 'psremote',
});

/**
 * Every errorId psremote raises itself: the kernel, the CLI, the engine's protocol errors the kernel passes on, and
 * the first-party transports (one catalogue for the whole project: an id is the public matching surface, and the
 * CLI and scripts see them all alike). `errorId` is what to match on (ARCHITECTURE.md, Errors); a third-party
 * transport may raise ids of its own, and ids a server or WinRM fault gives are passed on as they come.
 * `error-ids.test.ts` checks that every id literal given as an errorId under packages/<name>/src is listed here.
 */
export const ERROR_IDS = {
  // ---- the binder (ParameterBindingException and friends; ParameterBinderStrings.resx) ----
  AmbiguousParameter: ps('InvalidArgument'),
  AmbiguousParameterSet: ps('InvalidArgument'),
  CannotConvertArgument: ps('InvalidArgument'),
  CannotConvertArgumentNoMessage: ps('InvalidArgument'),
  MissingArgument: ps('InvalidArgument'),
  MissingMandatoryParameter: ps('InvalidArgument'),
  NamedParameterNotFound: ps('InvalidArgument'),
  ParameterAlreadyBound: ps('InvalidArgument'),
  ParameterArgumentTransformationError: ps('InvalidData'),
  ParameterArgumentValidationError: ps('InvalidData'),
  ParameterArgumentValidationErrorNullNotAllowed: ps('InvalidData'),
  ParameterBindingFailed: ps('WriteError'),
  ParameterRequiresArgument: ps('ParserError'),
  ParserError: ps('ParserError'),
  PositionalParameterNotFound: ps('InvalidArgument'),
  ScriptBlockArgumentNoInput: ps('MetadataError'),
  VariableNotWritable: ps('WriteError'),
  /** A -ConnectionUri that is no URI: PowerShell's FullyQualifiedErrorId is the exception's type name. */
  'System.UriFormatException': ps('NotSpecified'),

  // ---- the session and the OutOfProc connection (RemotingErrorIdStrings.resx where PowerShell has one) ----
  CreateRemoteRunspaceFailed: ps('OpenError', 'InvalidArgument', 'NotImplemented', 'NotInstalled'),
  InvalidRunspaceState: ps('InvalidOperation'),
  IPCServerProcessReportedError: ps('OpenError', 'ConnectionError'),
  IPCSignalTimedOut: ps('OperationTimeout'),
  OperationStopped: ps('OperationStopped'),
  PSRemotingTransportException: ps('OpenError'),
  ReceivedObjectSizeExceededMaximumClient: ps('OpenError'),
  RemoteRunspaceDoesNotSupportPushRunspace: ps('InvalidArgument'),
  /** The error record of a host call this client cannot honour, sent back to the server (RemoteHost.cs). */
  RemoteHostExecutionException: ps('NotSpecified'),
  RemoteRunspacePoolBroken: ours('ConnectionError'),
  InvocationAlreadyIterated: ours('InvalidOperation'),
  PipelineStopTimedOut: ours('OperationTimeout'),
  PoolCallTimedOut: ours('OperationTimeout'),
  PSRemotingAckTimeout: ours('OperationTimeout'),
  PSRemotingConnectTimeout: ours('OperationTimeout'),
  PSRemotingTransportAbruptlyTerminated: ours('ConnectionError'),
  PSRemotingTransportClosed: ours('ConnectionError'),
  PSSessionClosed: ours('ResourceUnavailable'),
  SessionEndedByInterrupt: ours('OperationStopped'),

  // ---- transport plugins as the kernel holds them ----
  TransportApiMismatch: ours('NotInstalled'),
  TransportNotImplemented: ours('NotImplemented'),
  TransportNotRegistered: ours('NotInstalled', 'NotImplemented'),
  /** A plugin call failed with an error that is not a PSRemotingError (plugin-calls.ts). */
  TransportPluginFailed: ours('OpenError', 'ConnectionError'),

  // ---- the engine's protocol errors, passed on with the session Broken (@psremote/psrp) ----
  ClixmlMalformed: ours('ProtocolError'),
  ClixmlTooLarge: ours('ProtocolError'),
  DeserializationTooDeep: ours('ProtocolError'),
  PsrpBadSessionKey: ours('ProtocolError'),
  PsrpFragmentAbandoned: ours('ProtocolError'),
  PsrpFragmentOutOfOrder: ours('ProtocolError'),
  PsrpFragmentSize: ours('ProtocolError'),
  PsrpInvalidGuid: ours('ProtocolError'),
  PsrpMalformedMessage: ours('ProtocolError'),
  PsrpMalformedPacket: ours('ProtocolError'),

  // ---- the CLI ----
  OptionTakesNoValue: ours('InvalidArgument'),
  PasswordStdinIsTerminal: ours('InvalidArgument'),
  PasswordStdinNeedsCredential: ours('InvalidArgument'),
  PasswordStdinNotApplicable: ours('InvalidArgument'),
  PasswordStdinTooLong: ours('InvalidArgument'),
  PwshOptionNotApplicable: ours('InvalidArgument'),
  UnknownPsremoteCommand: ours('ObjectNotFound'),
  UnknownPsremoteOption: ours('InvalidArgument'),

  // ---- transport-process ----
  PowerShellNotFound: ours('NotInstalled', 'ObjectNotFound', 'OpenError'),

  // ---- transport-ssh (SshErrorId) ----
  KeyFileNotFound: ps('ObjectNotFound'),
  PSSessionInvalidComputerName: ps('InvalidArgument'),
  SSHAbruptlyTerminated: ps('ConnectionError'),
  SshAuthenticationFailed: ours('AuthenticationError'),
  SshConnectionLost: ours('ConnectionError'),
  SshConnectionRefused: ours('ConnectionError'),
  SshConnectionTimeout: ours('OperationTimeout'),
  SshHandshakeFailed: ours('ProtocolError', 'SecurityError'),
  SshHostKeyChanged: ours('SecurityError'),
  SshHostKeyRevoked: ours('SecurityError'),
  SshHostKeyUnknown: ours('SecurityError'),
  SshHostNotFound: ours('ObjectNotFound'),
  SshHostUnreachable: ours('ConnectionError'),
  SshInvalidOption: ours('InvalidArgument'),
  SshSubsystemUnavailable: ours('OpenError'),

  // ---- transport-container ----
  CreateRemoteRunspaceForContainerFailed: ps('OpenError'),
  InvalidContainerId: ps('InvalidArgument'),
  ContainerEngineAddressInvalid: ours('InvalidArgument'),
  ContainerEngineContextNotFound: ours('ObjectNotFound'),
  ContainerEngineProtocolError: ours('ProtocolError'),
  ContainerEngineTlsFailed: ours('SecurityError'),
  ContainerEngineTooOld: ours('NotImplemented'),
  ContainerEngineUnavailable: ours('ConnectionError'),
  ContainerPowerShellNotFound: ours('NotInstalled'),
  ContainerSessionTerminated: ours('ConnectionError'),

  // ---- transport-hyperv (PowerShell Direct; PSRemotingErrorId and RemotingErrorIdStrings.resx) ----
  /** A failure while the VM session is created, with the precise PowerShell Direct error inside (PushRunspaceCommand.cs). */
  CreateRemoteRunspaceForVMFailed: ps('InvalidArgument', 'InvalidOperation'),
  HyperVModuleNotAvailable: ps('NotInstalled'),
  InvalidVMId: ps('InvalidArgument'),
  InvalidVMNameNoVM: ps('InvalidArgument'),
  InvalidVMNameMultipleVM: ps('InvalidArgument'),
  InvalidVMState: ps('InvalidArgument'),
  HyperVFailedToGetStateUnknownType: ps('InvalidOperation'),
  InvalidUsername: ps('InvalidArgument'),
  InvalidCredential: ps('InvalidArgument'),
  HyperVInvalidResponse: ps('InvalidArgument'),
  HyperVNegotiationFailed: ps('InvalidArgument'),
  VMSessionConnectFailed: ps('InvalidOperation'),

  // ---- transport-winrm (WinRM faults keep the ids PowerShell derives from them, built at run time) ----
  /** A session broken by a WinRM failure with no transport error id (Job.cs GetFQEIDFromTransportError). */
  PSSessionStateBroken: ps('ConnectionError'),
  InvalidPipelineState: ours('InvalidOperation'),
  WinRMEnvelopeTooSmall: ours('LimitsExceeded'),
  WinRMAuthRejected: ours('AuthenticationError'),
  WinRMAuthState: ours('InvalidOperation'),
  WinRMAuthTokenInvalid: ours('ProtocolError'),
  WinRMAuthUnsupported: ours('AuthenticationError'),
  WinRMEncryptedBodyInvalid: ours('ProtocolError'),
  WinRMMessageIntegrity: ours('SecurityError'),
  /** CredSSP: the server lacks the CVE-2018-0886 fix and the Encryption Oracle Remediation level refuses it. */
  CredSSPEncryptionOracleRemediation: ours('SecurityError'),
  /** PSREMOTE_CREDSSP_ENCRYPTION_ORACLE holds no policy level. */
  CredSSPEncryptionOracleInvalid: ours('InvalidArgument'),
  // -CertificateThumbprint: psremote's own checks before the handshake, and the Windows store it cannot read.
  ClientCertificateExpired: ours('SecurityError'),
  ClientCertificateNotYetValid: ours('SecurityError'),
  ClientCertificateNotForClientAuth: ours('SecurityError'),
  CertificateStoreNotAvailable: ours('NotInstalled'),
  // Kerberos/Negotiate through GSSAPI (transport-winrm's auth, merged on main beside this catalogue).
  NewRunspaceAmbiguousAuthentication: ps('InvalidOperation'),
  KerberosNotAvailable: ours('NotInstalled', 'NotImplemented'),
  // Sessions that outlive one command (the session table, the agent; PushRunspaceCommand.cs, InvokeCommandCommand.cs).
  RemoteRunspaceNotAvailableForSpecifiedSessionId: ps('InvalidArgument'),
  RemoteRunspaceNotAvailableForSpecifiedName: ps('InvalidArgument'),
  RemoteRunspaceNotAvailableForSpecifiedRunspaceId: ps('InvalidArgument'),
  RemoteRunspaceHasMultipleMatchesForSpecifiedName: ps('InvalidArgument'),
  PushedRunspaceMustBeOpen: ps('InvalidArgument'),
  InvokeCommandCommandInvalidSessionAvailability: ps('InvalidOperation'),
  EnterPSSessionSessionBusy: ours('ResourceBusy'),
  AgentUnavailable: ours('ConnectionError'),
  AgentAccessDenied: ours('SecurityError', 'PermissionDenied'),
  AgentProtocolError: ours('ProtocolError'),
} as const satisfies Record<string, ErrorIdInfo>;

/** An id psremote raises itself. */
export type ErrorId = keyof typeof ERROR_IDS;

export function isKnownErrorId(id: string): id is ErrorId {
  return Object.hasOwn(ERROR_IDS, id);
}
