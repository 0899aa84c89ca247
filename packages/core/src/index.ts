export { ERROR_CATEGORIES, type ErrorCategory } from './errors/error-category.ts';
export {
  ERROR_IDS,
  type ErrorId,
  type ErrorIdInfo,
  type ErrorIdOrigin,
  isKnownErrorId,
} from './errors/error-ids.ts';
export {
  ENTER_PSSESSION_COMMAND,
  isPSRemotingError,
  PSRemotingError,
  type PSRemotingErrorOptions,
} from './errors/ps-remoting-error.ts';
export { HostBacklog } from './host/host-backlog.ts';
export * from './host/host-ui.ts';
export { type HostUiRecord, type QueuedAnswer, RecordingHostUi } from './host/recording-host-ui.ts';
export { createOutOfProcConnection, type OutOfProcConnectionOptions } from './outofproc/connection.ts';
export {
  type ArgumentValue,
  parseArguments,
  parseNumber,
  parseValue,
  type RawArgument,
} from './parameters/arguments.ts';
export { type BindOptions, bindEnterPSSession } from './parameters/bind.ts';
export { ENTER_PSSESSION_METADATA } from './parameters/enter-pssession-metadata.ts';
export type {
  CommandMetadata,
  ParameterMetadata,
  ParameterSetMembership,
  ValidationMetadata,
} from './parameters/metadata-types.ts';
export {
  DEFAULT_SESSION_OPTIONS,
  parseSessionOptionText,
  parseTimeSpan,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptionValue,
} from './parameters/session-option.ts';
export { renderSyntax } from './parameters/syntax.ts';
export * from './parameters/types.ts';
export { dispatchHostCall, type HostCallOutcome } from './session/host-dispatch.ts';
export {
  type CompletionResult,
  containerPromptLabel,
  InteractiveSession,
  interactiveLineSpec,
  remotePromptFunction,
} from './session/interactive.ts';
export { Invocation, type InvocationEvent, type InvocationResult } from './session/invocation.ts';
export { type OpenSessionOptions, openSession } from './session/open-session.ts';
export {
  hostDefaultDataFrom,
  type InvokeOptions,
  type PoolCallOptions,
  PSSession,
  sessionBusyError,
} from './session/session.ts';
export {
  assertEnterable,
  type EnteredSession,
  enterPSSession,
  findSession,
  removePSSession,
  type SessionSelector,
} from './session/session-select.ts';
export {
  defaultSessionTable,
  type SessionAvailability,
  type SessionInfo,
  type SessionState,
  SessionTable,
} from './session/session-table.ts';
export { satisfiesApiRange } from './transport/api-range.ts';
export * from './transport/contract.ts';
export type { OutOfProcStream } from './transport/outofproc-stream.ts';
export { guardConnection, guardPlugin, type PluginOperation, pluginError } from './transport/plugin-calls.ts';
export { selectTransport, TRANSPORT_PACKAGE_FOR_SET } from './transport/registry.ts';
export { TransportPluginToken } from './transport/tokens.ts';
export { AsyncQueue } from './util/async-queue.ts';
export { psValueNumber, psValueText } from './util/ps-value-text.ts';
