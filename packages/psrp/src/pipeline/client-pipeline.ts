import { serializeClixml } from '../clixml/serialize.ts';
import type { PSValue } from '../clixml/value.ts';
import { hostMethodName } from '../host/host-method.ts';
import { type HostCallResult, returnNeedsSessionKey } from '../host/host-return.ts';
import { MessageType } from '../message/header.ts';
import {
  canPipelineTransition,
  type PipelineAction,
  type PSInvocationState,
  pipelineTransition,
} from './transitions.ts';

/** What a pipeline needs from its pool (kept narrow so the pool stays the only queue owner). */
export interface PipelineHost {
  queueMessage(
    pipelineId: string,
    messageType: number,
    body: string,
    stream: 'Default' | 'PromptResponse',
  ): void;
  queueHostResponse(
    pipelineId: string | null,
    callId: bigint,
    methodId: number,
    methodName: string,
    result: HostCallResult,
    secure: boolean,
  ): void;
}

/** One pipeline of a ClientRunspacePool (PowerShell's ClientRemotePowerShell, without I/O). */
export class ClientPipeline {
  readonly pipelineId: string;
  private _state: PSInvocationState = 'NotStarted';
  private readonly host: PipelineHost;
  private inputEnded = false;

  constructor(pipelineId: string, host: PipelineHost) {
    this.pipelineId = pipelineId;
    this.host = host;
  }

  get state(): PSInvocationState {
    return this._state;
  }

  /** @internal state changes only through the transition table */
  transition(action: PipelineAction): PSInvocationState {
    this._state = pipelineTransition(this._state, action);
    return this._state;
  }

  /** @internal */
  tryTransition(action: PipelineAction): boolean {
    if (!canPipelineTransition(this._state, action)) return false;
    this._state = pipelineTransition(this._state, action);
    return true;
  }

  /** PIPELINE_INPUT: one object (MS-PSRP 2.2.2.17). */
  sendInput(value: PSValue): void {
    if (this.inputEnded) throw new Error('input already ended');
    this.host.queueMessage(this.pipelineId, MessageType.PIPELINE_INPUT, serializeClixml(value), 'Default');
  }

  /** END_OF_PIPELINE_INPUT: empty data (EncodeAndDecode.cs). */
  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.host.queueMessage(this.pipelineId, MessageType.END_OF_PIPELINE_INPUT, '', 'Default');
  }

  /** Marks the pipeline Stopping; the transport sends its stop signal, the server answers Stopped. */
  stop(): void {
    if (this._state === 'Running' || this._state === 'Stopping') this.transition('stop');
  }

  /** PIPELINE_HOST_RESPONSE on the prompt-response stream. */
  hostResponse(callId: bigint, methodId: number, result: HostCallResult): void {
    const secure = 'value' in result && returnNeedsSessionKey(result.value);
    this.host.queueHostResponse(this.pipelineId, callId, methodId, hostMethodName(methodId), result, secure);
  }
}
