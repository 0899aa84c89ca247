import type { PSValue } from '../clixml/value.ts';
import { decryptSecureString, encryptSecureString, SessionKeyExchange } from '../crypto/session-key.ts';
import { PsrpProtocolError } from '../errors.ts';
import type { PsrpEvent } from '../events.ts';
import { Fifo } from '../fifo.ts';
import { DEFAULT_MAX_RECEIVED_OBJECT_SIZE, Defragmenter, fragmentMessage } from '../fragment/fragment.ts';
import { EMPTY_GUID, newGuid } from '../guid.ts';
import { hostMethodName } from '../host/host-method.ts';
import {
  encodeHostReturn,
  type HostCallResult,
  hostErrorRecord,
  returnNeedsSessionKey as resultNeedsKey,
} from '../host/host-return.ts';
import {
  createPipelineBody,
  getAvailableRunspacesBody,
  getCommandMetadataBody,
  hostResponseBody,
  initRunspacePoolBody,
  type PipelineSpec,
  publicKeyBody,
  resetRunspaceStateBody,
  sessionCapabilityBody,
  setRunspacesBody,
} from '../message/codecs/client-messages.ts';
import type { HostDefaultData } from '../message/codecs/host-info.ts';
import {
  decodeApplicationPrivateData,
  decodeEncryptedSessionKey,
  decodeHostCallMessage,
  decodeInformationalRecord,
  decodeMessageBody,
  decodePipelineState,
  decodeRunspaceAvailability,
  decodeRunspacePoolInitData,
  decodeRunspacePoolState,
  decodeServerMessage,
  decodeServerSessionCapability,
  type StateInfo,
} from '../message/codecs/server-messages.ts';
import { Destination, encodeMessage, MessageType, messageTypeName } from '../message/header.ts';
import { ClientPipeline } from '../pipeline/client-pipeline.ts';
import { isFinished, type PipelineAction, type PSInvocationState } from '../pipeline/transitions.ts';
import { CLIENT_PROTOCOL_VERSION, compareVersions, needsSessionKey, negotiate } from '../protocol-version.ts';
import {
  clientErrorRecord,
  decodeErrorRecord,
  decodeInformationRecord,
  decodeProgressRecord,
  type ErrorRecordInfo,
} from '../records/records.ts';
import { canPoolTransition, type PoolAction, poolTransition, type RunspacePoolState } from './transitions.ts';

export interface ClientRunspacePoolOptions {
  readonly runspacePoolId?: string;
  readonly minRunspaces?: number;
  readonly maxRunspaces?: number;
  /** RawUI values for the server's cache; null or absent: a host without RawUI. */
  readonly host?: HostDefaultData | null;
  /** False: no host UI at all (Write/Prompt host calls cannot happen). Default true. */
  readonly hasUi?: boolean;
  readonly applicationArguments?: PSValue;
  /** Fragment size including the 21-byte header (default 32768, OutOfProc). */
  readonly maxFragmentSize?: number;
  /**
   * PowerShell's MaximumReceivedObjectSize, in bytes: the most one object (one message) from the server may
   * take on the wire, fragment headers included, checked as each fragment header arrives. Exceeding it is a
   * ProtocolError `ReceivedObjectSizeExceededMaximumClient` and the pool goes Broken (PowerShell fails the
   * transport). Default 10 MiB (BaseTransportManager.cs, what PowerShell's OutOfProc client uses; a WSMan
   * client takes PSSessionOption's value); `null` for no limit.
   */
  readonly maxReceivedObjectSize?: number | null;
  /** @deprecated The former name of `maxReceivedObjectSize` (which wins when both are given). */
  readonly maxMessageSize?: number;
  /**
   * The object limit for the messages of pipelines (output, records, states, host calls), when it should
   * differ from `maxReceivedObjectSize`: PowerShell's OutOfProc client (SSH, `pwsh -s`, containers, Hyper-V)
   * limits only its session's objects to 10 MiB and gives its commands no object limit (a 15 MiB string comes
   * back from `Start-Job`), while its WSMan client applies PSSessionOption's MaximumReceivedObjectSize
   * (default 200 MiB) to both. Same error and Broken pool when exceeded. Default: `maxReceivedObjectSize`;
   * `null` for no limit.
   */
  readonly maxReceivedPipelineObjectSize?: number | null;
  /**
   * PowerShell's MaximumReceivedDataSizePerCommand, in bytes: the most one pipeline may receive in total (all
   * its messages' fragments, headers included). Exceeding it fails that pipeline only: a
   * `PipelineReceiveLimitExceeded` event (the session should send the server a stop for it), then
   * `PipelineStateChanged` Failed with reason `ReceivedDataSizeExceededMaximumClient`; its later data is
   * dropped unread and the pool stays Opened. Default `null`, no limit (PSSessionOption: "If null, then the
   * size is unlimited").
   */
  readonly maxReceivedDataSizePerCommand?: number | null;
}

/** One fragment to send. */
export interface OutgoingPayload {
  readonly pipelineId: string | null;
  readonly stream: 'Default' | 'PromptResponse';
  readonly data: Uint8Array;
  /** The first fragment of CREATE_PIPELINE / GET_COMMAND_METADATA: the transport creates the command with it. */
  readonly createsPipeline: boolean;
}

interface PendingSecure {
  readonly pipelineId: string | null;
  readonly callId: bigint;
  readonly methodId: number;
  readonly methodName: string;
  readonly result: HostCallResult;
}

/** The action a server's PIPELINE_STATE takes in the pipeline's table; other states change nothing. */
const SERVER_PIPELINE_ACTIONS: Readonly<Partial<Record<PSInvocationState, PipelineAction>>> = {
  Running: 'serverRunning',
  Stopping: 'serverRunning',
  Completed: 'serverCompleted',
  Stopped: 'serverStopped',
  Failed: 'serverFailed',
};

type PoolMessageHandler = (body: PSValue) => void;
type PipelineMessageHandler = (body: PSValue, pipeline: ClientPipeline) => void;

/** RemotingErrorIdStrings.resx ReceivedDataSizeExceededMaximumClient, PowerShell's id and text. */
function receivedDataSizeExceeded(max: number): PsrpProtocolError {
  return new PsrpProtocolError(
    'ReceivedDataSizeExceededMaximumClient',
    `The total data received from the remote server exceeded the allowed maximum. The allowed maximum is ${max}.`,
  );
}

/**
 * The client side of a runspace pool, sans-IO (h11's shape): `receiveData()` takes server bytes, `nextEvent()`
 * hands out what happened, `dataToSend()` hands out fragments to write. Bad peer input never throws out of
 * receiveData: it becomes a ProtocolError event and the pool is Broken.
 */
export class ClientRunspacePool {
  readonly runspacePoolId: string;
  private _state: RunspacePoolState = 'BeforeOpen';
  private readonly options: ClientRunspacePoolOptions;
  private readonly maxFragmentSize: number;
  private readonly defrag: Defragmenter;
  private readonly events = new Fifo<PsrpEvent>();
  private readonly outgoing = new Fifo<OutgoingPayload>();
  private nextObjectId = 1n;
  private readonly pipelines = new Map<string, ClientPipeline>();
  private _negotiated: string | undefined;
  private _appData: PSValue | undefined;
  /** Recently finished pipeline ids (bounded): late messages for them are dropped, not errors. */
  private readonly finished = new Set<string>();
  private keyExchange: SessionKeyExchange | undefined;
  private readonly pendingSecure: PendingSecure[] = [];
  private readonly maxDataPerCommand: number | null;
  /** Bytes received so far by each live pipeline (only kept when maxReceivedDataSizePerCommand is set). */
  private readonly received = new Map<string, number>();

  constructor(options: ClientRunspacePoolOptions = {}) {
    this.options = options;
    this.runspacePoolId = (options.runspacePoolId ?? newGuid()).toLowerCase();
    this.maxFragmentSize = options.maxFragmentSize ?? 32_768;
    this.defrag = new Defragmenter({
      maxReceivedObjectSize:
        options.maxReceivedObjectSize !== undefined
          ? options.maxReceivedObjectSize
          : (options.maxMessageSize ?? DEFAULT_MAX_RECEIVED_OBJECT_SIZE),
      ...(options.maxReceivedPipelineObjectSize !== undefined
        ? { maxReceivedPipelineObjectSize: options.maxReceivedPipelineObjectSize }
        : {}),
    });
    this.maxDataPerCommand = options.maxReceivedDataSizePerCommand ?? null;
  }

  get state(): RunspacePoolState {
    return this._state;
  }
  get negotiatedProtocolVersion(): string | undefined {
    return this._negotiated;
  }
  get applicationPrivateData(): PSValue | undefined {
    return this._appData;
  }

  getPipeline(id: string): ClientPipeline | undefined {
    return this.pipelines.get(id.toLowerCase());
  }

  private move(action: PoolAction, reason?: ErrorRecordInfo): void {
    const before = this._state;
    this._state = poolTransition(this._state, action);
    if (before !== this._state) {
      this.events.push({
        type: 'RunspacePoolStateChanged',
        state: this._state,
        ...(reason ? { reason } : {}),
      });
    }
  }

  // ---- outgoing ---------------------------------------------------------------------------------------

  private queue(
    pipelineId: string | null,
    messageType: number,
    body: string,
    stream: 'Default' | 'PromptResponse',
    createsPipeline = false,
  ): void {
    const message = encodeMessage({
      destination: Destination.Server,
      messageType,
      runspacePoolId: this.runspacePoolId,
      pipelineId: pipelineId ?? EMPTY_GUID,
      data: Buffer.from(body, 'utf8'),
    });
    const frags = fragmentMessage(this.nextObjectId++, message, this.maxFragmentSize);
    for (let i = 0; i < frags.length; i++) {
      this.outgoing.push({
        pipelineId,
        stream,
        data: frags[i] as Uint8Array,
        createsPipeline: createsPipeline && i === 0,
      });
    }
  }

  dataToSend(): OutgoingPayload | undefined {
    return this.outgoing.shift();
  }

  nextEvent(): PsrpEvent | undefined {
    return this.events.shift();
  }

  /** Queues SESSION_CAPABILITY and INIT_RUNSPACEPOOL (MS-PSRP 3.1.5.4.1). */
  open(): void {
    this.move('open');
    this.queue(null, MessageType.SESSION_CAPABILITY, sessionCapabilityBody(), 'Default');
    this.queue(
      null,
      MessageType.INIT_RUNSPACEPOOL,
      initRunspacePoolBody({
        minRunspaces: this.options.minRunspaces ?? 1,
        maxRunspaces: this.options.maxRunspaces ?? 1,
        host: this.options.host,
        hasUi: this.options.hasUi ?? true,
        ...(this.options.applicationArguments !== undefined
          ? { applicationArguments: this.options.applicationArguments }
          : {}),
      }),
      'Default',
    );
  }

  private newPipeline(): ClientPipeline {
    if (this._state !== 'Opened') {
      throw new PsrpProtocolError(
        'InvalidRunspacePoolState',
        `cannot create a pipeline: the runspace pool is ${this._state}`,
        { remote: false },
      );
    }
    const p = new ClientPipeline(newGuid(), {
      queueMessage: (id, type, body, stream) => this.queue(id, type, body, stream),
      queueHostResponse: (id, callId, methodId, name, result, secure) =>
        this.queueHostResponse(id, callId, methodId, name, result, secure),
    });
    this.pipelines.set(p.pipelineId, p);
    p.transition('invoke');
    return p;
  }

  createPipeline(spec: PipelineSpec): ClientPipeline {
    const p = this.newPipeline();
    this.queue(p.pipelineId, MessageType.CREATE_PIPELINE, createPipelineBody(spec), 'Default', true);
    return p;
  }

  /** Get-Command over the protocol (GET_COMMAND_METADATA); mask default Alias|Function|Filter|Cmdlet|Configuration. */
  getCommandMetadata(names: string[], commandType = 0x10f): ClientPipeline {
    const p = this.newPipeline();
    this.queue(
      p.pipelineId,
      MessageType.GET_COMMAND_METADATA,
      getCommandMetadataBody(names, commandType),
      'Default',
      true,
    );
    return p;
  }

  private nextCallId = 1n;

  private requireOpened(action: string): void {
    if (this._state !== 'Opened') {
      throw new PsrpProtocolError(
        'InvalidRunspacePoolState',
        `cannot ${action}: the runspace pool is ${this._state}`,
        { remote: false },
      );
    }
  }

  /** SET_MAX_RUNSPACES / SET_MIN_RUNSPACES; the reply is a RunspaceAvailability event with the same call id. */
  setRunspaces(which: 'MaxRunspaces' | 'MinRunspaces', count: number): bigint {
    this.requireOpened(`set ${which}`);
    const ci = this.nextCallId++;
    this.queue(
      null,
      which === 'MaxRunspaces' ? MessageType.SET_MAX_RUNSPACES : MessageType.SET_MIN_RUNSPACES,
      setRunspacesBody(which, count, ci),
      'Default',
    );
    return ci;
  }

  /** GET_AVAILABLE_RUNSPACES; the reply is a RunspaceAvailability event with the same call id. */
  getAvailableRunspaces(): bigint {
    this.requireOpened('ask for the available runspaces');
    const ci = this.nextCallId++;
    this.queue(null, MessageType.GET_AVAILABLE_RUNSPACES, getAvailableRunspacesBody(ci), 'Default');
    return ci;
  }

  /** RESET_RUNSPACE_STATE (protocol 2.3+); the reply is a RunspaceAvailability event with the same call id. */
  resetRunspaceState(): bigint {
    this.requireOpened('reset the runspace state');
    if (this._negotiated && compareVersions(this._negotiated, '2.3') < 0) {
      throw new PsrpProtocolError(
        'PsrpNotSupported',
        `RESET_RUNSPACE_STATE needs protocol 2.3; the session speaks ${this._negotiated}`,
        { remote: false },
      );
    }
    const ci = this.nextCallId++;
    this.queue(null, MessageType.RESET_RUNSPACE_STATE, resetRunspaceStateBody(ci), 'Default');
    return ci;
  }

  /** RUNSPACEPOOL_HOST_RESPONSE for a pool-level host call. */
  hostResponse(callId: bigint, methodId: number, result: HostCallResult): void {
    const secure = 'value' in result && resultNeedsKey(result.value);
    this.queueHostResponse(null, callId, methodId, hostMethodName(methodId), result, secure);
  }

  private sessionKey(): Uint8Array | null {
    if (!this._negotiated || !needsSessionKey(this._negotiated)) return null;
    return this.keyExchange?.sessionKey ?? null;
  }

  private queueHostResponse(
    pipelineId: string | null,
    callId: bigint,
    methodId: number,
    methodName: string,
    result: HostCallResult,
    secure: boolean,
  ): void {
    const keyNeeded = secure && this._negotiated !== undefined && needsSessionKey(this._negotiated);
    if (keyNeeded && !this.keyExchange?.hasSessionKey) {
      // MS-PSRP 3.1.4.4: below 2.4 the client starts the key exchange before it sends a SecureString.
      this.pendingSecure.push({ pipelineId, callId, methodId, methodName, result });
      this.startKeyExchange();
      return;
    }
    this.writeHostResponse({ pipelineId, callId, methodId, methodName, result });
  }

  private writeHostResponse(p: PendingSecure): void {
    const key = this.sessionKey();
    const body =
      'value' in p.result
        ? hostResponseBody(p.callId, p.methodId, p.methodName, {
            mr: encodeHostReturn(p.result.value, (plain) => encryptSecureString(plain, key)),
          })
        : hostResponseBody(p.callId, p.methodId, p.methodName, {
            me: hostErrorRecord(p.result.error.message, p.result.error.errorId),
          });
    const type = p.pipelineId ? MessageType.PIPELINE_HOST_RESPONSE : MessageType.RUNSPACEPOOL_HOST_RESPONSE;
    this.queue(p.pipelineId, type, body, 'PromptResponse');
  }

  private startKeyExchange(): void {
    if (this.keyExchange) return;
    this.keyExchange = new SessionKeyExchange();
    this.queue(null, MessageType.PUBLIC_KEY, publicKeyBody(this.keyExchange.publicKeyBlob()), 'Default');
  }

  /** Encodes a SecureString for this session (call after the key exchange when below 2.4). */
  encodeSecureString(plain: string): string {
    return encryptSecureString(plain, this.sessionKey());
  }

  /** True when SecureStrings can be encoded and decoded now (2.4+, or the session key has arrived). */
  get secureStringsReady(): boolean {
    return (
      this._negotiated !== undefined &&
      (!needsSessionKey(this._negotiated) || !!this.keyExchange?.hasSessionKey)
    );
  }

  /**
   * Starts the session-key exchange ahead of need (MS-PSRP 3.1.4.4), e.g. before sending a SecureString as
   * pipeline input; `secureStringsReady` turns true once ENCRYPTED_SESSION_KEY is in. A no-op at 2.4+.
   */
  requestSessionKey(): void {
    this.requireOpened('exchange the session key');
    if (this._negotiated && needsSessionKey(this._negotiated)) this.startKeyExchange();
  }

  /** Decodes the text of a `<SS>` the server sent (session key below 2.4, plain UTF-16LE at 2.4+). */
  decodeSecureString(wire: string): string {
    return decryptSecureString(wire, this.sessionKey());
  }

  close(): void {
    this.move('close');
  }

  transportClosed(): void {
    if (canPoolTransition(this._state, 'transportClosed')) this.move('transportClosed');
    this.failPipelines();
  }

  /** The transport failed (the session reports its error): the pool goes Broken, its pipelines Failed. */
  transportFailed(_reason: Error): void {
    if (this._state !== 'Closed' && this._state !== 'Broken' && canPoolTransition(this._state, 'fail'))
      this.move('fail');
    this.failPipelines();
  }

  private failPipelines(): void {
    for (const p of this.pipelines.values()) {
      if (!isFinished(p.state) && p.tryTransition('fail')) {
        this.events.push({ type: 'PipelineStateChanged', pipelineId: p.pipelineId, state: p.state });
      }
      this.forget(p.pipelineId);
    }
    this.pipelines.clear();
  }

  /** Drops a finished pipeline, remembering its id for a while so that late messages for it are harmless. */
  private forget(id: string): void {
    this.pipelines.delete(id);
    this.received.delete(id);
    this.finished.add(id);
    if (this.finished.size > 1024) {
      const oldest = this.finished.values().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }

  // ---- incoming ---------------------------------------------------------------------------------------

  /**
   * Fragment bytes from the transport (one or more fragments). Never throws on bad peer input. The pipeline id
   * the transport received them for is not needed: each message's header names its pipeline.
   */
  receiveData(_pipelineId: string | null, data: Uint8Array): void {
    if (this._state === 'Broken' || this._state === 'Closed') return;
    try {
      for (const msg of this.defrag.messages(data)) this.onMessage(msg);
    } catch (e) {
      const err =
        e instanceof PsrpProtocolError && e.remote
          ? e
          : new PsrpProtocolError(
              (e as { errorId?: string }).errorId ?? 'PsrpMalformedMessage',
              `the server sent data the client cannot read: ${(e as Error).message}`,
              { cause: e },
            );
      this.events.push({ type: 'ProtocolError', error: err });
      if (canPoolTransition(this._state, 'fail')) this.move('fail');
      this.failPipelines();
    }
  }

  /**
   * One message from the server: its header checked, then the handler of its type decodes its body and applies
   * it. A pipeline's message is matched to its pipeline and counted against its quota before its body is read.
   */
  private onMessage(bytes: Uint8Array): void {
    const m = decodeServerMessage(bytes);
    const onPoolMessage = this.poolHandlers.get(m.messageType);
    if (onPoolMessage) {
      onPoolMessage(decodeMessageBody(m.data));
      return;
    }
    const pid = m.pipelineId;
    const p = this.pipelines.get(pid);
    if (!p) {
      // A late message for a pipeline we already finished (e.g. after a stop or over its quota): drop it unread.
      if (this.finished.has(pid)) return;
      // MS-PSRP 3.1.5.4: pipeline messages only ever concern pipelines this client created.
      throw new PsrpProtocolError(
        'PsrpUnknownPipeline',
        `a ${messageTypeName(m.messageType)} for pipeline ${pid}, which this client never created`,
      );
    }
    if (this.maxDataPerCommand !== null && this.overQuota(p, this.defrag.lastMessageWireSize)) return;
    const body = decodeMessageBody(m.data);
    const onPipelineMessage = this.pipelineHandlers.get(m.messageType);
    if (!onPipelineMessage)
      throw new PsrpProtocolError(
        'PsrpUnexpectedMessage',
        `a client-bound ${messageTypeName(m.messageType)} was not expected`,
      );
    onPipelineMessage(body, p);
  }

  /** One handler per server message about the pool (MS-PSRP 3.1.5.4); every other type concerns a pipeline. */
  private readonly poolHandlers: ReadonlyMap<number, PoolMessageHandler> = new Map<
    number,
    PoolMessageHandler
  >([
    [
      MessageType.SESSION_CAPABILITY,
      (body) => {
        // MS-PSRP 3.1.5.4.1: exactly one, in answer to ours; another one later is out of order.
        if (this._state !== 'NegotiationSent')
          throw new PsrpProtocolError(
            'PsrpUnexpectedMessage',
            `SESSION_CAPABILITY while the runspace pool is ${this._state}`,
          );
        const server = decodeServerSessionCapability(body);
        this._negotiated = negotiate(CLIENT_PROTOCOL_VERSION, server.protocolVersion);
        this.events.push({ type: 'SessionCapability', ...server });
        this.move('negotiated');
      },
    ],
    [
      MessageType.APPLICATION_PRIVATE_DATA,
      (body) => {
        this._appData = decodeApplicationPrivateData(body);
        this.events.push({ type: 'ApplicationPrivateData', data: this._appData });
      },
    ],
    [MessageType.RUNSPACEPOOL_STATE, (body) => this.serverPoolState(decodeRunspacePoolState(body))],
    [
      MessageType.ENCRYPTED_SESSION_KEY,
      (body) => {
        const b64 = decodeEncryptedSessionKey(body);
        if (!b64 || !this.keyExchange)
          throw new PsrpProtocolError('PsrpBadSessionKey', 'an unexpected ENCRYPTED_SESSION_KEY');
        this.keyExchange.acceptEncryptedSessionKey(b64);
        for (const p of this.pendingSecure.splice(0)) this.writeHostResponse(p);
      },
    ],
    [MessageType.PUBLIC_KEY_REQUEST, () => this.startKeyExchange()],
    [
      MessageType.RUNSPACE_AVAILABILITY,
      (body) => this.events.push({ type: 'RunspaceAvailability', ...decodeRunspaceAvailability(body) }),
    ],
    [MessageType.USER_EVENT, (body) => this.events.push({ type: 'UserEvent', event: body })],
    [
      MessageType.RUNSPACEPOOL_INIT_DATA,
      (body) => this.events.push({ type: 'RunspacePoolInitData', ...decodeRunspacePoolInitData(body) }),
    ],
    [
      MessageType.RUNSPACEPOOL_HOST_CALL,
      (body) => this.events.push({ type: 'HostCall', pipelineId: null, call: decodeHostCallMessage(body) }),
    ],
  ]);

  /** One handler per server message about a pipeline, which onMessage has found. */
  private readonly pipelineHandlers: ReadonlyMap<number, PipelineMessageHandler> = new Map<
    number,
    PipelineMessageHandler
  >([
    [
      MessageType.PIPELINE_OUTPUT,
      (body, p) => this.events.push({ type: 'PipelineOutput', pipelineId: p.pipelineId, value: body }),
    ],
    [
      MessageType.ERROR_RECORD,
      (body, p) =>
        this.events.push({ type: 'ErrorRecord', pipelineId: p.pipelineId, record: decodeErrorRecord(body) }),
    ],
    [MessageType.WARNING_RECORD, (body, p) => this.informationalRecord(p, 'Warning', body)],
    [MessageType.VERBOSE_RECORD, (body, p) => this.informationalRecord(p, 'Verbose', body)],
    [MessageType.DEBUG_RECORD, (body, p) => this.informationalRecord(p, 'Debug', body)],
    [
      MessageType.INFORMATION_RECORD,
      (body, p) =>
        this.events.push({
          type: 'InformationRecord',
          pipelineId: p.pipelineId,
          record: decodeInformationRecord(body),
        }),
    ],
    [
      MessageType.PROGRESS_RECORD,
      (body, p) =>
        this.events.push({
          type: 'ProgressRecord',
          pipelineId: p.pipelineId,
          record: decodeProgressRecord(body),
        }),
    ],
    [
      MessageType.PIPELINE_HOST_CALL,
      (body, p) =>
        this.events.push({ type: 'HostCall', pipelineId: p.pipelineId, call: decodeHostCallMessage(body) }),
    ],
    [MessageType.PIPELINE_STATE, (body, p) => this.serverPipelineState(p, decodePipelineState(body))],
  ]);

  /** RUNSPACEPOOL_STATE: Opened, Broken and Closed move the pool through its table; a second Opened is refused there. */
  private serverPoolState({ state, reason }: StateInfo<RunspacePoolState>): void {
    if (state === 'Opened') {
      if (this._state === 'NegotiationSent') this.move('negotiated');
      this.move('serverOpened');
    } else if (state === 'Broken') this.move('serverBroken', reason);
    else if (state === 'Closed') this.move('serverClosed', reason);
    if (state === 'Broken' || state === 'Closed') this.failPipelines();
  }

  /** PIPELINE_STATE: through the pipeline's table; a finished pipeline is forgotten. */
  private serverPipelineState(p: ClientPipeline, { state, reason }: StateInfo<PSInvocationState>): void {
    const action = SERVER_PIPELINE_ACTIONS[state];
    if (!action || !p.tryTransition(action)) return;
    if (isFinished(p.state)) this.forget(p.pipelineId);
    this.events.push({
      type: 'PipelineStateChanged',
      pipelineId: p.pipelineId,
      state: p.state,
      ...(reason ? { reason } : {}),
    });
  }

  private informationalRecord(
    p: ClientPipeline,
    stream: 'Warning' | 'Verbose' | 'Debug',
    body: PSValue,
  ): void {
    this.events.push({
      type: 'InformationalRecord',
      pipelineId: p.pipelineId,
      stream,
      message: decodeInformationalRecord(body),
      raw: body,
    });
  }

  /**
   * MaximumReceivedDataSizePerCommand (PriorityCollection.cs PriorityReceiveDataCollection): adds a message's
   * wire bytes to its pipeline's total; over the limit the pipeline fails (that pipeline only: the pool and
   * the other pipelines go on), its data from now on is dropped, and the session is told to stop it on the
   * server. True when the message must be dropped.
   */
  private overQuota(p: ClientPipeline, bytes: number): boolean {
    const max = this.maxDataPerCommand as number;
    const total = (this.received.get(p.pipelineId) ?? 0) + bytes;
    this.received.set(p.pipelineId, total);
    if (total <= max) return false;
    const error = receivedDataSizeExceeded(max);
    this.events.push({
      type: 'PipelineReceiveLimitExceeded',
      pipelineId: p.pipelineId,
      error,
      received: total,
      limit: max,
    });
    p.tryTransition('fail');
    this.forget(p.pipelineId);
    this.events.push({
      type: 'PipelineStateChanged',
      pipelineId: p.pipelineId,
      state: p.state,
      reason: clientErrorRecord(error.errorId, error.message),
    });
    return true;
  }
}
