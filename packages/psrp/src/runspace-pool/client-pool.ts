import { deserializeClixml } from '../clixml/deserialize.ts';
import { PSObject, type PSValue } from '../clixml/value.ts';
import { decryptSecureString, encryptSecureString, SessionKeyExchange } from '../crypto/session-key.ts';
import { PsrpProtocolError } from '../errors.ts';
import type { PsrpEvent } from '../events.ts';
import { DEFAULT_MAX_RECEIVED_OBJECT_SIZE, Defragmenter, fragmentMessage } from '../fragment/fragment.ts';
import { EMPTY_GUID, newGuid } from '../guid.ts';
import { decodeHostCall } from '../host/decode-host-call.ts';
import type { HostCall } from '../host/host-call.ts';
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
  type HostDefaultData,
  hostResponseBody,
  initRunspacePoolBody,
  type PipelineSpec,
  publicKeyBody,
  resetRunspaceStateBody,
  sessionCapabilityBody,
  setRunspacesBody,
} from '../message/codecs/client-messages.ts';
import { asNumber, asString, enumValue } from '../message/codecs/enum.ts';
import {
  Destination,
  decodeMessage,
  encodeMessage,
  isKnownMessageType,
  MessageType,
  messageTypeName,
} from '../message/header.ts';
import { ClientPipeline } from '../pipeline/client-pipeline.ts';
import { INVOCATION_STATES, isFinished } from '../pipeline/transitions.ts';
import { CLIENT_PROTOCOL_VERSION, compareVersions, needsSessionKey, negotiate } from '../protocol-version.ts';
import {
  clientErrorRecord,
  decodeErrorRecord,
  decodeInformationRecord,
  decodeProgressRecord,
} from '../records/records.ts';
import {
  canPoolTransition,
  type PoolAction,
  poolTransition,
  RUNSPACE_POOL_STATES,
  type RunspacePoolState,
} from './transitions.ts';

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

// MS-PSRP 2.2.3.4 / 2.2.3.5: the wire values are the indexes of these lists.
const PIPELINE_STATES = INVOCATION_STATES;
const POOL_STATES = RUNSPACE_POOL_STATES;

/** The server-to-client messages about the pool; every other one concerns a pipeline. */
const POOL_MESSAGES: ReadonlySet<number> = new Set([
  MessageType.SESSION_CAPABILITY,
  MessageType.APPLICATION_PRIVATE_DATA,
  MessageType.RUNSPACEPOOL_STATE,
  MessageType.ENCRYPTED_SESSION_KEY,
  MessageType.PUBLIC_KEY_REQUEST,
  MessageType.RUNSPACE_AVAILABILITY,
  MessageType.USER_EVENT,
  MessageType.RUNSPACEPOOL_INIT_DATA,
  MessageType.RUNSPACEPOOL_HOST_CALL,
]);

/** `major.minor[.build[.revision]]`, each at most 9 digits (System.Version's text). */
function isVersionText(v: string): boolean {
  let parts = 1;
  let digits = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++parts > 4) return false;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (++digits > 9) return false;
    } else return false;
  }
  return parts >= 2 && digits > 0;
}

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
  private readonly events: PsrpEvent[] = [];
  private eventHead = 0;
  private readonly outgoing: OutgoingPayload[] = [];
  private outHead = 0;
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

  private move(action: PoolAction, reason?: ReturnType<typeof decodeErrorRecord>): void {
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
    if (this.outHead >= this.outgoing.length) return undefined;
    const p = this.outgoing[this.outHead] as OutgoingPayload;
    this.outgoing[this.outHead] = undefined as unknown as OutgoingPayload;
    this.outHead++;
    if (this.outHead === this.outgoing.length) {
      this.outgoing.length = 0;
      this.outHead = 0;
    }
    return p;
  }

  nextEvent(): PsrpEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const e = this.events[this.eventHead] as PsrpEvent;
    this.events[this.eventHead] = undefined as unknown as PsrpEvent;
    this.eventHead++;
    if (this.eventHead === this.events.length) {
      this.events.length = 0;
      this.eventHead = 0;
    }
    return e;
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

  transportFailed(reason: Error): void {
    void reason;
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

  /** Fragment bytes from the transport (one or more fragments). Never throws on bad peer input. */
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

  private body(data: Uint8Array): PSValue {
    if (data.length === 0) return null;
    return deserializeClixml(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  }

  private onMessage(bytes: Uint8Array): void {
    const m = decodeMessage(bytes);
    if (m.destination !== Destination.Client) {
      throw new PsrpProtocolError(
        'PsrpUnexpectedDestination',
        `a ${messageTypeName(m.messageType)} message addressed to ${m.destination}`,
      );
    }
    if (!isKnownMessageType(m.messageType)) {
      throw new PsrpProtocolError(
        'PsrpUnknownMessageType',
        `unknown message type ${messageTypeName(m.messageType)}`,
      );
    }
    const pid = m.pipelineId;
    let p: ClientPipeline | undefined;
    if (!POOL_MESSAGES.has(m.messageType)) {
      // A pipeline's message: find its pipeline and count its bytes before reading a byte of its body.
      p = this.pipelines.get(pid);
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
    }
    const body = this.body(m.data);
    const obj = body instanceof PSObject ? body : undefined;
    switch (m.messageType) {
      case MessageType.SESSION_CAPABILITY: {
        // MS-PSRP 3.1.5.4.1: exactly one, in answer to ours; another one later is out of order.
        if (this._state !== 'NegotiationSent')
          throw new PsrpProtocolError(
            'PsrpUnexpectedMessage',
            `SESSION_CAPABILITY while the runspace pool is ${this._state}`,
          );
        const server = asString(obj?.get('protocolversion')) ?? '2.0';
        // PowerShell reads it as a System.Version: 2 to 4 numbers (and a peer's long text would otherwise be
        // split again at every version comparison).
        if (!isVersionText(server))
          throw new PsrpProtocolError(
            'PsrpMalformedMessage',
            `SESSION_CAPABILITY with a bad protocolversion ${server.slice(0, 40)}`,
          );
        this._negotiated = negotiate(CLIENT_PROTOCOL_VERSION, server);
        this.events.push({
          type: 'SessionCapability',
          protocolVersion: server,
          psVersion: asString(obj?.get('PSVersion')) ?? '',
          serializationVersion: asString(obj?.get('SerializationVersion')) ?? '',
        });
        if (this._state === 'NegotiationSent') this.move('negotiated');
        return;
      }
      case MessageType.APPLICATION_PRIVATE_DATA:
        this._appData = obj?.get('ApplicationPrivateData') ?? null;
        this.events.push({ type: 'ApplicationPrivateData', data: this._appData });
        return;
      case MessageType.RUNSPACEPOOL_STATE: {
        const n = asNumber(obj?.get('RunspaceState'));
        const state = n === undefined ? undefined : POOL_STATES[n];
        if (!state)
          throw new PsrpProtocolError(
            'PsrpMalformedMessage',
            `RUNSPACEPOOL_STATE without a valid RunspaceState`,
          );
        const ex = obj?.get('ExceptionAsErrorRecord');
        const reason = ex ? decodeErrorRecord(ex) : undefined;
        if (state === 'Opened') {
          if (this._state === 'NegotiationSent') this.move('negotiated');
          // A second Opened is out of order: the transition table rejects it (a ProtocolError).
          this.move('serverOpened');
        } else if (state === 'Broken') this.move('serverBroken', reason);
        else if (state === 'Closed') this.move('serverClosed', reason);
        if (state === 'Broken' || state === 'Closed') this.failPipelines();
        return;
      }
      case MessageType.ENCRYPTED_SESSION_KEY: {
        const b64 = asString(obj?.get('EncryptedSessionKey'));
        if (!b64 || !this.keyExchange)
          throw new PsrpProtocolError('PsrpBadSessionKey', 'an unexpected ENCRYPTED_SESSION_KEY');
        this.keyExchange.acceptEncryptedSessionKey(b64);
        const pending = this.pendingSecure.splice(0);
        for (const p of pending) this.writeHostResponse(p);
        return;
      }
      case MessageType.PUBLIC_KEY_REQUEST:
        this.startKeyExchange();
        return;
      case MessageType.RUNSPACE_AVAILABILITY: {
        // MS-PSRP 2.2.2.9: SetMinMaxRunspacesResponse (a Boolean) or the available count (Int64), with the call id.
        const ci = obj?.get('ci');
        const callId =
          typeof ci === 'object' && ci !== null && 'value' in ci && typeof ci.value === 'bigint'
            ? ci.value
            : undefined;
        const value = obj?.get('SetMinMaxRunspacesResponse') ?? body;
        this.events.push({
          type: 'RunspaceAvailability',
          value,
          ...(callId !== undefined ? { callId } : {}),
        });
        return;
      }
      case MessageType.USER_EVENT:
        this.events.push({ type: 'UserEvent', event: body });
        return;
      case MessageType.RUNSPACEPOOL_INIT_DATA:
        // MS-PSRP 2.2.2.30: the pool's min/max, the answer to CONNECT_RUNSPACEPOOL.
        this.events.push({
          type: 'RunspacePoolInitData',
          minRunspaces: asNumber(obj?.get('MinRunspaces')) ?? 1,
          maxRunspaces: asNumber(obj?.get('MaxRunspaces')) ?? 1,
        });
        return;
      case MessageType.RUNSPACEPOOL_HOST_CALL:
        this.events.push({ type: 'HostCall', pipelineId: null, call: this.hostCall(obj) });
        return;
      default:
        break;
    }
    if (!p)
      throw new PsrpProtocolError('PsrpUnexpectedMessage', `an unexpected ${messageTypeName(m.messageType)}`);
    switch (m.messageType) {
      case MessageType.PIPELINE_OUTPUT:
        this.events.push({ type: 'PipelineOutput', pipelineId: pid, value: body });
        return;
      case MessageType.ERROR_RECORD:
        this.events.push({ type: 'ErrorRecord', pipelineId: pid, record: decodeErrorRecord(body) });
        return;
      case MessageType.WARNING_RECORD:
      case MessageType.VERBOSE_RECORD:
      case MessageType.DEBUG_RECORD: {
        const stream =
          m.messageType === MessageType.WARNING_RECORD
            ? 'Warning'
            : m.messageType === MessageType.VERBOSE_RECORD
              ? 'Verbose'
              : 'Debug';
        const message =
          asString(obj?.get('InformationalRecord_Message')) ?? (obj ? obj.toString() : String(body));
        this.events.push({ type: 'InformationalRecord', pipelineId: pid, stream, message, raw: body });
        return;
      }
      case MessageType.INFORMATION_RECORD:
        this.events.push({
          type: 'InformationRecord',
          pipelineId: pid,
          record: decodeInformationRecord(body),
        });
        return;
      case MessageType.PROGRESS_RECORD:
        this.events.push({ type: 'ProgressRecord', pipelineId: pid, record: decodeProgressRecord(body) });
        return;
      case MessageType.PIPELINE_HOST_CALL:
        this.events.push({ type: 'HostCall', pipelineId: pid, call: this.hostCall(obj) });
        return;
      case MessageType.PIPELINE_STATE: {
        const n = asNumber(obj?.get('PipelineState'));
        const state = n === undefined ? undefined : PIPELINE_STATES[n];
        if (!state)
          throw new PsrpProtocolError('PsrpMalformedMessage', 'PIPELINE_STATE without a valid PipelineState');
        const ex = obj?.get('ExceptionAsErrorRecord');
        const reason = ex ? decodeErrorRecord(ex) : undefined;
        const action =
          state === 'Completed'
            ? 'serverCompleted'
            : state === 'Stopped'
              ? 'serverStopped'
              : state === 'Failed'
                ? 'serverFailed'
                : state === 'Running' || state === 'Stopping'
                  ? 'serverRunning'
                  : undefined;
        if (action && p.tryTransition(action)) {
          if (isFinished(p.state)) this.forget(pid);
          this.events.push({
            type: 'PipelineStateChanged',
            pipelineId: pid,
            state: p.state,
            ...(reason ? { reason } : {}),
          });
        }
        return;
      }
      default:
        throw new PsrpProtocolError(
          'PsrpUnexpectedMessage',
          `a client-bound ${messageTypeName(m.messageType)} was not expected`,
        );
    }
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

  private hostCall(obj: PSObject | undefined): HostCall {
    if (!obj) throw new PsrpProtocolError('PsrpMalformedMessage', 'a host call without a body');
    const ci = obj.get('ci');
    const callId =
      typeof ci === 'object' && ci !== null && 'value' in ci && typeof ci.value === 'bigint'
        ? ci.value
        : BigInt(asNumber(ci) ?? -100);
    const methodId = enumValue(obj.get('mi')) ?? asNumber(obj.get('mi'));
    if (methodId === undefined)
      throw new PsrpProtocolError('PsrpMalformedMessage', 'a host call without a method id');
    const mp = obj.get('mp');
    const args =
      mp instanceof PSObject && mp.baseValue && typeof mp.baseValue === 'object' && 'items' in mp.baseValue
        ? [...mp.baseValue.items]
        : [];
    return {
      callId,
      methodId,
      methodName: hostMethodName(methodId),
      args,
      decoded: decodeHostCall(methodId, args),
    };
  }
}
