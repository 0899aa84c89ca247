import type { PSObject, PSValue } from './clixml/value.ts';
import type { PsrpProtocolError } from './errors.ts';
import type { HostCall } from './host/host-call.ts';
import type { PSInvocationState } from './pipeline/transitions.ts';
import type { ErrorRecordInfo, InformationRecordInfo, ProgressRecordInfo } from './records/records.ts';
import type { RunspacePoolState } from './runspace-pool/transitions.ts';

/** Everything the engine reports, in arrival order (`ClientRunspacePool.nextEvent()`). */
export type PsrpEvent =
  | {
      readonly type: 'SessionCapability';
      readonly protocolVersion: string;
      readonly psVersion: string;
      readonly serializationVersion: string;
    }
  | { readonly type: 'ApplicationPrivateData'; readonly data: PSValue }
  | {
      readonly type: 'RunspacePoolStateChanged';
      readonly state: RunspacePoolState;
      readonly reason?: ErrorRecordInfo;
    }
  | { readonly type: 'RunspaceAvailability'; readonly value: PSValue; readonly callId?: bigint }
  | { readonly type: 'RunspacePoolInitData'; readonly minRunspaces: number; readonly maxRunspaces: number }
  | { readonly type: 'UserEvent'; readonly event: PSValue }
  | { readonly type: 'PipelineOutput'; readonly pipelineId: string; readonly value: PSValue }
  | { readonly type: 'ErrorRecord'; readonly pipelineId: string; readonly record: ErrorRecordInfo }
  | {
      readonly type: 'InformationalRecord';
      readonly pipelineId: string;
      readonly stream: 'Warning' | 'Verbose' | 'Debug';
      readonly message: string;
      readonly raw: PSValue;
    }
  | {
      readonly type: 'InformationRecord';
      readonly pipelineId: string;
      readonly record: InformationRecordInfo;
    }
  | { readonly type: 'ProgressRecord'; readonly pipelineId: string; readonly record: ProgressRecordInfo }
  | {
      readonly type: 'PipelineStateChanged';
      readonly pipelineId: string;
      readonly state: PSInvocationState;
      readonly reason?: ErrorRecordInfo;
    }
  | { readonly type: 'HostCall'; readonly pipelineId: string | null; readonly call: HostCall }
  | {
      /**
       * The pipeline received more than `maxReceivedDataSizePerCommand` bytes (PowerShell's
       * MaximumReceivedDataSizePerCommand). The engine has failed it: a `PipelineStateChanged` Failed event with
       * `error` as its reason follows at once, and its later data is dropped unread; the pool stays Opened. The
       * server is still running it: the session should send it a stop (OutOfProc `<Signal>`, WSMan Signal
       * `powershell/signal/crtl_c`), as PowerShell tears down that command's transport.
       */
      readonly type: 'PipelineReceiveLimitExceeded';
      readonly pipelineId: string;
      /** errorId `ReceivedDataSizeExceededMaximumClient`, PowerShell's message. */
      readonly error: PsrpProtocolError;
      /** Bytes counted for the pipeline, the refused message included. */
      readonly received: number;
      readonly limit: number;
    }
  | { readonly type: 'ProtocolError'; readonly error: PsrpProtocolError };

export type { PSObject };
