export { ERROR_CATEGORIES, type ErrorCategory } from './errors/error-category.ts';
export {
  ENTER_PSSESSION_COMMAND,
  isPSRemotingError,
  PSRemotingError,
  type PSRemotingErrorOptions,
} from './errors/ps-remoting-error.ts';
export * from './host/host-ui.ts';
export { type HostUiRecord, type QueuedAnswer, RecordingHostUi } from './host/recording-host-ui.ts';
export * from './parameters/types.ts';
export * from './transport/contract.ts';
export type { OutOfProcStream } from './transport/outofproc-stream.ts';
export { TransportPluginToken } from './transport/tokens.ts';
