import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { deserializeClixml } from '../clixml/deserialize.ts';
import { serializeClixml } from '../clixml/serialize.ts';
import type { PSObject, PSValue } from '../clixml/value.ts';
import { decryptSecureString } from '../crypto/session-key.ts';
import { Defragmenter, fragmentMessage } from '../fragment/fragment.ts';
import { EMPTY_GUID } from '../guid.ts';
import { hostMethodName, VOID_CALL_ID } from '../host/host-method.ts';
import {
  decodeCallId,
  decodeCreatePipeline,
  decodeGetCommandMetadata,
  decodeHostResponse,
  decodeInitRunspacePool,
  decodePublicKey,
  decodeSessionCapability,
  type HostResponseInfo,
  type InitRunspacePoolInfo,
  type PipelineSpec,
  type SessionCapabilityInfo,
} from '../message/codecs/client-messages.ts';
import type { DecodedHostInfo } from '../message/codecs/host-info.ts';
import {
  applicationPrivateDataBody,
  encryptedSessionKeyBody,
  hostCallBody,
  informationalRecordBody,
  pipelineStateBody,
  publicKeyRequestBody,
  runspaceAvailabilityBody,
  runspacePoolStateBody,
  serverSessionCapabilityBody,
} from '../message/codecs/server-messages.ts';
import {
  Destination,
  decodeMessage,
  encodeMessage,
  MessageType,
  messageTypeName,
} from '../message/header.ts';
import type { PSInvocationState } from '../pipeline/transitions.ts';
import { compareVersions } from '../protocol-version.ts';
import {
  type ErrorRecordSpec,
  errorRecordObject,
  type InformationRecordSpec,
  informationRecordObject,
  type ProgressRecordSpec,
  progressRecordObject,
} from '../records/records.ts';

/** A message the fake server received, decoded to its header and UTF-8 body. */
export interface ReceivedMessage {
  readonly messageType: number;
  readonly typeName: string;
  readonly pipelineId: string;
  readonly body: string;
}

export interface FakeServerOptions {
  /** The protocol version the server announces (default 2.3: SecureStrings need the session key). */
  readonly protocolVersion?: string;
  readonly applicationPrivateData?: PSValue;
  /** Fragment size of what the server sends (default 32768). */
  readonly maxFragmentSize?: number;
  /** Called when a pipeline is created; the test drives it (output, records, host calls, state). */
  readonly onPipeline?: (pipeline: FakePipeline) => void;
  /**
   * The answer to a pool call (SET_MAX_RUNSPACES, SET_MIN_RUNSPACES, GET_AVAILABLE_RUNSPACES,
   * RESET_RUNSPACE_STATE), sent back as RUNSPACE_AVAILABILITY with the request's call id. Default: true for the
   * setters and the reset, 1 available runspace.
   */
  readonly onPoolCall?: (typeName: string, body: string) => boolean | bigint;
}

/** One pipeline on the fake server. */
export class FakePipeline {
  readonly pipelineId: string;
  readonly spec: PipelineSpec & { readonly hostInfo: DecodedHostInfo };
  /** GET_COMMAND_METADATA's request, when the pipeline came from one. */
  readonly commandMetadata: { names: string[]; commandType: number } | undefined;
  readonly input: PSValue[] = [];
  inputEnded = false;
  state: PSInvocationState = 'Running';
  /** Host responses received for this pipeline, in arrival order (SecureStrings already decrypted). */
  readonly hostResponses: HostResponseInfo[] = [];
  private readonly server: FakePsrpServer;

  /** @internal */
  constructor(
    server: FakePsrpServer,
    pipelineId: string,
    spec: PipelineSpec & { readonly hostInfo: DecodedHostInfo },
    commandMetadata?: { names: string[]; commandType: number },
  ) {
    this.server = server;
    this.pipelineId = pipelineId;
    this.spec = spec;
    this.commandMetadata = commandMetadata;
  }

  output(value: PSValue): this {
    this.server.send(MessageType.PIPELINE_OUTPUT, serializeClixml(value), this.pipelineId);
    return this;
  }
  error(e: ErrorRecordSpec): this {
    this.server.send(MessageType.ERROR_RECORD, serializeClixml(errorRecordObject(e)), this.pipelineId);
    return this;
  }
  warning(message: string): this {
    this.server.send(
      MessageType.WARNING_RECORD,
      informationalRecordBody(message, 'System.Management.Automation.WarningRecord'),
      this.pipelineId,
    );
    return this;
  }
  verbose(message: string): this {
    this.server.send(
      MessageType.VERBOSE_RECORD,
      informationalRecordBody(message, 'System.Management.Automation.VerboseRecord'),
      this.pipelineId,
    );
    return this;
  }
  debug(message: string): this {
    this.server.send(
      MessageType.DEBUG_RECORD,
      informationalRecordBody(message, 'System.Management.Automation.DebugRecord'),
      this.pipelineId,
    );
    return this;
  }
  progress(p: ProgressRecordSpec): this {
    this.server.send(MessageType.PROGRESS_RECORD, serializeClixml(progressRecordObject(p)), this.pipelineId);
    return this;
  }
  information(r: InformationRecordSpec): this {
    this.server.send(
      MessageType.INFORMATION_RECORD,
      serializeClixml(informationRecordObject(r)),
      this.pipelineId,
    );
    return this;
  }
  /** PIPELINE_HOST_CALL; returns the call id (-100 for a void method, which gets no response). */
  hostCall(methodId: number, args: readonly PSValue[], isVoid = false): bigint {
    return this.server.hostCall(methodId, args, this.pipelineId, isVoid);
  }
  finish(state: 'Completed' | 'Failed' | 'Stopped' = 'Completed', reason?: ErrorRecordSpec): void {
    this.state = state;
    this.server.send(
      MessageType.PIPELINE_STATE,
      pipelineStateBody(state, reason ? errorRecordObject(reason) : undefined),
      this.pipelineId,
    );
  }
}

/**
 * An in-memory PSRP server for tests (sans-IO, like the client): `receive()` takes the client's fragments,
 * `takeOutput()` hands back what the server sends. It answers the open sequence, the key exchange (as Windows
 * PowerShell does: RSA PKCS#1 v1.5, reversed SIMPLEBLOB), host responses and stops; everything else a test
 * scripts through `onPipeline`. Client mistakes are collected in `violations` rather than thrown.
 */
export class FakePsrpServer {
  readonly protocolVersion: string;
  readonly received: ReceivedMessage[] = [];
  readonly violations: string[] = [];
  readonly pipelines = new Map<string, FakePipeline>();
  /** Pool-level host responses. */
  readonly hostResponses: HostResponseInfo[] = [];
  capability: SessionCapabilityInfo | undefined;
  init: InitRunspacePoolInfo | undefined;
  runspacePoolId: string | undefined;
  sessionKey: Buffer | undefined;
  private readonly options: FakeServerOptions;
  private readonly defrag = new Defragmenter();
  private readonly out: Uint8Array[] = [];
  private nextObjectId = 1n;
  private nextCallId = 1n;
  private readonly openCalls = new Map<bigint, { pipelineId: string | null; methodId: number }>();

  constructor(options: FakeServerOptions = {}) {
    this.options = options;
    this.protocolVersion = options.protocolVersion ?? '2.3';
  }

  /** The effective version once the client has announced its own. */
  get negotiatedVersion(): string | undefined {
    if (!this.capability) return undefined;
    return compareVersions(this.capability.protocolVersion, this.protocolVersion) < 0
      ? this.capability.protocolVersion
      : this.protocolVersion;
  }

  /** Fragments for the client, in send order (drained). */
  takeOutput(): Uint8Array[] {
    return this.out.splice(0);
  }

  /** Raw bytes for the client, bypassing the codecs (bad-input tests). */
  sendRaw(bytes: Uint8Array): void {
    this.out.push(bytes);
  }

  /** @internal Encodes, fragments and queues one message to the client. */
  send(messageType: number, body: string, pipelineId: string = EMPTY_GUID): void {
    const message = encodeMessage({
      destination: Destination.Client,
      messageType,
      runspacePoolId: this.runspacePoolId ?? EMPTY_GUID,
      pipelineId,
      data: Buffer.from(body, 'utf8'),
    });
    this.out.push(...fragmentMessage(this.nextObjectId++, message, this.options.maxFragmentSize ?? 32_768));
  }

  /** RUNSPACEPOOL_HOST_CALL or, with a pipeline id, PIPELINE_HOST_CALL. */
  hostCall(
    methodId: number,
    args: readonly PSValue[],
    pipelineId: string | null = null,
    isVoid = false,
  ): bigint {
    const ci = isVoid ? VOID_CALL_ID : this.nextCallId++;
    if (!isVoid) this.openCalls.set(ci, { pipelineId, methodId });
    this.send(
      pipelineId ? MessageType.PIPELINE_HOST_CALL : MessageType.RUNSPACEPOOL_HOST_CALL,
      hostCallBody(ci, methodId, args),
      pipelineId ?? EMPTY_GUID,
    );
    return ci;
  }

  /** RUNSPACEPOOL_STATE (e.g. Closed when the client closes, Broken on a server failure). */
  poolState(state: 'Opened' | 'Closed' | 'Broken', reason?: ErrorRecordSpec): void {
    this.send(
      MessageType.RUNSPACEPOOL_STATE,
      runspacePoolStateBody(state, reason && errorRecordObject(reason)),
    );
  }

  /** PUBLIC_KEY_REQUEST: asks the client to start the key exchange. */
  requestPublicKey(): void {
    this.send(MessageType.PUBLIC_KEY_REQUEST, publicKeyRequestBody());
  }

  /** The transport's stop signal (OutOfProc Signal, WSMan Signal): the pipeline ends Stopped. */
  signalStop(pipelineId: string): void {
    const p = this.pipelines.get(pipelineId);
    if (p?.state !== 'Running') return;
    p.finish('Stopped', {
      message: 'The pipeline has been stopped.',
      fullyQualifiedErrorId: 'PipelineStopped',
      category: 'OperationStopped',
      reason: 'PipelineStoppedException',
      exceptionTypeNames: ['System.Management.Automation.PipelineStoppedException', 'System.Exception'],
    });
  }

  /** Fragment bytes from the client. */
  receive(data: Uint8Array): void {
    for (const bytes of this.defrag.push(data)) {
      const m = decodeMessage(bytes);
      const body = Buffer.from(m.data).toString('utf8');
      this.received.push({
        messageType: m.messageType,
        typeName: messageTypeName(m.messageType),
        pipelineId: m.pipelineId,
        body,
      });
      if (m.destination !== Destination.Server)
        this.violations.push(`a message for the client: ${m.messageType}`);
      this.runspacePoolId ??= m.runspacePoolId;
      if (m.runspacePoolId !== this.runspacePoolId)
        this.violations.push(`a message for another pool: ${m.runspacePoolId}`);
      this.onMessage(m.messageType, m.pipelineId, body);
    }
  }

  private onMessage(type: number, pid: string, body: string): void {
    switch (type) {
      case MessageType.SESSION_CAPABILITY:
        this.capability = decodeSessionCapability(body);
        this.send(MessageType.SESSION_CAPABILITY, serverSessionCapabilityBody(this.protocolVersion));
        return;
      case MessageType.INIT_RUNSPACEPOOL:
        if (!this.capability) this.violations.push('INIT_RUNSPACEPOOL before SESSION_CAPABILITY');
        this.init = decodeInitRunspacePool(body);
        this.send(
          MessageType.APPLICATION_PRIVATE_DATA,
          applicationPrivateDataBody(this.options.applicationPrivateData ?? null),
        );
        this.poolState('Opened');
        return;
      case MessageType.PUBLIC_KEY: {
        this.sessionKey = randomBytes(32);
        this.send(
          MessageType.ENCRYPTED_SESSION_KEY,
          encryptedSessionKeyBody(wrapSessionKey(decodePublicKey(body), this.sessionKey)),
        );
        return;
      }
      case MessageType.CREATE_PIPELINE:
      case MessageType.GET_COMMAND_METADATA: {
        if (this.pipelines.has(pid)) this.violations.push(`pipeline ${pid} created twice`);
        const p =
          type === MessageType.CREATE_PIPELINE
            ? new FakePipeline(this, pid, decodeCreatePipeline(body))
            : new FakePipeline(
                this,
                pid,
                { commands: [], hostInfo: decodeHostInfoNone() },
                decodeGetCommandMetadata(body),
              );
        this.pipelines.set(pid, p);
        this.options.onPipeline?.(p);
        return;
      }
      case MessageType.PIPELINE_INPUT:
      case MessageType.END_OF_PIPELINE_INPUT: {
        const p = this.pipelines.get(pid);
        if (!p) {
          this.violations.push(`input for an unknown pipeline ${pid}`);
          return;
        }
        if (p.inputEnded) this.violations.push(`input after END_OF_PIPELINE_INPUT on ${pid}`);
        if (type === MessageType.END_OF_PIPELINE_INPUT) p.inputEnded = true;
        else p.input.push(deserializeBody(body));
        return;
      }
      case MessageType.RUNSPACEPOOL_HOST_RESPONSE:
      case MessageType.PIPELINE_HOST_RESPONSE: {
        const r = decodeHostResponse(body);
        const call = this.openCalls.get(r.callId);
        if (!call) this.violations.push(`a host response for unknown call ${r.callId}`);
        else {
          this.openCalls.delete(r.callId);
          if (call.methodId !== r.methodId)
            this.violations.push(`call ${r.callId}: method ${r.methodId}, expected ${call.methodId}`);
          const expectedType = call.pipelineId
            ? MessageType.PIPELINE_HOST_RESPONSE
            : MessageType.RUNSPACEPOOL_HOST_RESPONSE;
          if (type !== expectedType)
            this.violations.push(`call ${r.callId} answered with ${messageTypeName(type)}`);
        }
        if (body.includes('<SS>') || body.includes('<SS ')) this.checkSecureStrings(body);
        const target = call?.pipelineId ? this.pipelines.get(call.pipelineId) : undefined;
        (target ? target.hostResponses : this.hostResponses).push(r);
        return;
      }
      case MessageType.SET_MAX_RUNSPACES:
      case MessageType.SET_MIN_RUNSPACES:
      case MessageType.GET_AVAILABLE_RUNSPACES:
      case MessageType.RESET_RUNSPACE_STATE: {
        const name = messageTypeName(type);
        const answer =
          this.options.onPoolCall?.(name, body) ?? (type === MessageType.GET_AVAILABLE_RUNSPACES ? 1n : true);
        // MS-PSRP 2.2.2.8: the reply carries the request's call id.
        this.send(MessageType.RUNSPACE_AVAILABILITY, runspaceAvailabilityBody(decodeCallId(body), answer));
        return;
      }
      default:
        this.violations.push(`unhandled ${messageTypeName(type)}`);
    }
  }

  /** Below 2.4 every SecureString must be encrypted with the session key, so the key must be there first. */
  private checkSecureStrings(body: string): void {
    const negotiated = this.negotiatedVersion ?? '2.0';
    const needKey = compareVersions(negotiated, '2.4') < 0;
    if (needKey && !this.sessionKey) this.violations.push('a SecureString before the session key exchange');
    // Each <SS ...>text</SS> found with indexOf: a linear scan, whatever the body holds.
    for (let at = body.indexOf('<SS'); at >= 0; at = body.indexOf('<SS', at + 3)) {
      const c = body.charCodeAt(at + 3);
      if (c !== 0x3e && c !== 0x20) continue;
      const open = body.indexOf('>', at);
      const close = open < 0 ? -1 : body.indexOf('<', open);
      if (close < 0 || !body.startsWith('</SS>', close)) continue;
      try {
        decryptSecureString(body.slice(open + 1, close), needKey ? (this.sessionKey ?? null) : null);
      } catch (e) {
        this.violations.push(`an unreadable SecureString: ${(e as Error).message}`);
      }
    }
  }

  /** Decrypts a SecureString the client sent (test helper). */
  readSecureString(wire: string): string {
    const needKey = compareVersions(this.negotiatedVersion ?? '2.0', '2.4') < 0;
    return decryptSecureString(wire, needKey ? (this.sessionKey ?? null) : null);
  }
}

function decodeHostInfoNone(): DecodedHostInfo {
  return {
    isHostNull: true,
    isHostUINull: true,
    isHostRawUINull: true,
    useRunspaceHost: true,
    defaultData: new Map(),
  };
}

function deserializeBody(body: string): PSValue {
  return body === '' ? null : deserializeClixml(body);
}

/**
 * What a Windows PowerShell server does with the client's PUBLICKEYBLOB (CryptoUtils.cs): RSA PKCS#1 v1.5
 * encrypt the AES-256 key, reverse the ciphertext (CAPI is little-endian), prefix the SIMPLEBLOB header.
 */
export function wrapSessionKey(publicKeyBlobB64: string, sessionKey: Uint8Array): string {
  const blob = Buffer.from(publicKeyBlobB64, 'base64');
  if (blob.length < 20 || blob.toString('ascii', 8, 12) !== 'RSA1') throw new Error('not a PUBLICKEYBLOB');
  const bits = blob.readUInt32LE(12);
  const e = blob.readUInt32LE(16);
  const n = Buffer.from(blob.subarray(20, 20 + bits / 8)).reverse();
  let eHex = e.toString(16);
  if (eHex.length % 2) eHex = `0${eHex}`;
  const key = createPublicKey({
    key: { kty: 'RSA', n: n.toString('base64url'), e: Buffer.from(eHex, 'hex').toString('base64url') },
    format: 'jwk',
  });
  const cipher = Buffer.from(
    publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, sessionKey),
  ).reverse();
  return Buffer.concat([Buffer.from('0102000010660000' + '00a40000', 'hex'), cipher]).toString('base64');
}

/** Host-call helper for tests: the method name of an id (re-exported for convenience). */
export const methodName = hostMethodName;

/** Moves data both ways until neither side has anything left; stops signalled by the client reach the server. */
export function pump(
  pool: {
    dataToSend(): { data: Uint8Array; pipelineId: string | null } | undefined;
    receiveData(pipelineId: string | null, data: Uint8Array): void;
  },
  server: FakePsrpServer,
  maxRounds = 1000,
): void {
  for (let round = 0; round < maxRounds; round++) {
    let moved = false;
    for (let p = pool.dataToSend(); p; p = pool.dataToSend()) {
      server.receive(p.data);
      moved = true;
    }
    for (const b of server.takeOutput()) {
      pool.receiveData(null, b);
      moved = true;
    }
    if (!moved) return;
  }
  throw new Error('pump: still moving after maxRounds');
}

export type { PSObject };
