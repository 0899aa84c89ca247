import { deserializeClixml } from '../../clixml/deserialize.ts';
import { serializeClixml } from '../../clixml/serialize.ts';
import { PSList, PSObject, PSPrimitive, type PSValue } from '../../clixml/value.ts';
import { PsrpProtocolError } from '../../errors.ts';
import { decodeHostCall } from '../../host/decode-host-call.ts';
import type { HostCall } from '../../host/host-call.ts';
import { hostMethodName } from '../../host/host-method.ts';
import { INVOCATION_STATES, type PSInvocationState } from '../../pipeline/transitions.ts';
import { decodeErrorRecord, type ErrorRecordInfo } from '../../records/records.ts';
import { RUNSPACE_POOL_STATES, type RunspacePoolState } from '../../runspace-pool/transitions.ts';
import {
  Destination,
  decodeMessage,
  isKnownMessageType,
  messageTypeName,
  type PsrpMessage,
} from '../header.ts';
import { asBigInt, asNumber, asString, enumValue, remoteHostMethodId } from './enum.ts';

/*
 * The messages a server sends (MS-PSRP 2.2.2, server to client): the decoders the client engine reads them with,
 * and the encoders the in-memory fake server and the tests send them with. A decoder takes the message's CLIXML
 * body, already parsed (decodeMessageBody), and throws a remote PsrpProtocolError on what the client cannot use.
 */

const obj = (props: Array<[string, PSValue]>) => new PSObject({ extended: props });

// ---- encoders ------------------------------------------------------------------------------------------

/** SESSION_CAPABILITY as a server sends it (MS-PSRP 2.2.2.1). */
export function serverSessionCapabilityBody(protocolVersion: string, psVersion = '2.0'): string {
  return serializeClixml(
    obj([
      ['protocolversion', new PSPrimitive('Version', protocolVersion)],
      ['PSVersion', new PSPrimitive('Version', psVersion)],
      ['SerializationVersion', new PSPrimitive('Version', '1.1.0.1')],
    ]),
  );
}

/** APPLICATION_PRIVATE_DATA (MS-PSRP 2.2.2.13): a PSPrimitiveDictionary named ApplicationPrivateData. */
export function applicationPrivateDataBody(data: PSValue): string {
  return serializeClixml(obj([['ApplicationPrivateData', data]]));
}

/** RUNSPACEPOOL_STATE (MS-PSRP 2.2.2.9): the state index and, on failure, ExceptionAsErrorRecord. */
export function runspacePoolStateBody(state: RunspacePoolState, error?: PSObject): string {
  const props: Array<[string, PSValue]> = [['RunspaceState', RUNSPACE_POOL_STATES.indexOf(state)]];
  if (error) props.push(['ExceptionAsErrorRecord', error]);
  return serializeClixml(obj(props));
}

/** PIPELINE_STATE (MS-PSRP 2.2.2.21). */
export function pipelineStateBody(state: PSInvocationState, error?: PSObject): string {
  const props: Array<[string, PSValue]> = [['PipelineState', INVOCATION_STATES.indexOf(state)]];
  if (error) props.push(['ExceptionAsErrorRecord', error]);
  return serializeClixml(obj(props));
}

/** DEBUG_RECORD / VERBOSE_RECORD / WARNING_RECORD (MS-PSRP 2.2.3.16). */
export function informationalRecordBody(message: string, typeName: string): string {
  return serializeClixml(
    new PSObject({
      typeNames: [typeName, 'System.Management.Automation.InformationalRecord', 'System.Object'],
      toStringValue: message,
      extended: [
        ['InformationalRecord_Message', message],
        ['InformationalRecord_SerializeInvocationInfo', false],
      ],
    }),
  );
}

/** RUNSPACEPOOL_HOST_CALL / PIPELINE_HOST_CALL (MS-PSRP 2.2.2.15, 2.2.2.27): ci, mi, mp (an ArrayList). */
export function hostCallBody(callId: bigint, methodId: number, args: readonly PSValue[]): string {
  return serializeClixml(
    obj([
      ['ci', new PSPrimitive('I64', callId)],
      ['mi', remoteHostMethodId(methodId, hostMethodName(methodId))],
      [
        'mp',
        new PSObject({
          typeNames: ['System.Collections.ArrayList', 'System.Object'],
          baseValue: new PSList('LST', [...args]),
        }),
      ],
    ]),
  );
}

/** ENCRYPTED_SESSION_KEY (MS-PSRP 2.2.2.4). */
export function encryptedSessionKeyBody(b64: string): string {
  return serializeClixml(obj([['EncryptedSessionKey', b64]]));
}

/** PUBLIC_KEY_REQUEST (MS-PSRP 2.2.2.5): an empty string. */
export function publicKeyRequestBody(): string {
  return serializeClixml('');
}

/** RUNSPACE_AVAILABILITY (MS-PSRP 2.2.2.8): the answer and the call id of the request. */
export function runspaceAvailabilityBody(callId: bigint, value: boolean | bigint): string {
  return serializeClixml(
    obj([
      ['SetMinMaxRunspacesResponse', typeof value === 'bigint' ? new PSPrimitive('I64', value) : value],
      ['ci', new PSPrimitive('I64', callId)],
    ]),
  );
}

/** RUNSPACEPOOL_INIT_DATA (MS-PSRP 2.2.2.30). */
export function runspacePoolInitDataBody(minRunspaces: number, maxRunspaces: number): string {
  return serializeClixml(
    obj([
      ['MinRunspaces', minRunspaces],
      ['MaxRunspaces', maxRunspaces],
    ]),
  );
}

/** USER_EVENT (MS-PSRP 2.2.2.12): a PSEventArgs with the event's properties. */
export function userEventBody(
  eventIdentifier: number,
  sourceIdentifier: string,
  messageData: PSValue,
): string {
  return serializeClixml(
    new PSObject({
      typeNames: ['System.Management.Automation.PSEventArgs', 'System.Object'],
      extended: [
        ['PSEventArgs.EventIdentifier', eventIdentifier],
        ['PSEventArgs.SourceIdentifier', sourceIdentifier],
        ['PSEventArgs.TimeGenerated', new PSPrimitive('DT', '2026-01-01T00:00:00.0000000+00:00')],
        ['PSEventArgs.Sender', null],
        ['PSEventArgs.SourceArgs', null],
        ['PSEventArgs.MessageData', messageData],
        ['PSEventArgs.ComputerName', 'localhost'],
        ['PSEventArgs.RunspaceId', new PSPrimitive('G', '00000000-0000-0000-0000-000000000000')],
      ],
    }),
  );
}

// ---- decoders ------------------------------------------------------------------------------------------

/**
 * A message from the server (MS-PSRP 2.2.1), its header checked: addressed to the client and of a known type.
 * The body stays unread, so that the engine can drop or refuse a message before it parses a byte of it.
 */
export function decodeServerMessage(bytes: Uint8Array): PsrpMessage {
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
  return m;
}

/** A message's data as CLIXML (UTF-8); empty data is null. */
export function decodeMessageBody(data: Uint8Array): PSValue {
  if (data.length === 0) return null;
  return deserializeClixml(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
}

const asObject = (body: PSValue): PSObject | undefined => (body instanceof PSObject ? body : undefined);

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

export interface ServerCapability {
  readonly protocolVersion: string;
  readonly psVersion: string;
  readonly serializationVersion: string;
}

/** SESSION_CAPABILITY from the server (MS-PSRP 2.2.2.1); a missing protocolversion reads as 2.0. */
export function decodeServerSessionCapability(body: PSValue): ServerCapability {
  const o = asObject(body);
  const protocolVersion = asString(o?.get('protocolversion')) ?? '2.0';
  // PowerShell reads it as a System.Version: 2 to 4 numbers (and a peer's long text would otherwise be split
  // again at every version comparison).
  if (!isVersionText(protocolVersion))
    throw new PsrpProtocolError(
      'PsrpMalformedMessage',
      `SESSION_CAPABILITY with a bad protocolversion ${protocolVersion.slice(0, 40)}`,
    );
  return {
    protocolVersion,
    psVersion: asString(o?.get('PSVersion')) ?? '',
    serializationVersion: asString(o?.get('SerializationVersion')) ?? '',
  };
}

/** APPLICATION_PRIVATE_DATA (MS-PSRP 2.2.2.13): the ApplicationPrivateData dictionary, null when absent. */
export function decodeApplicationPrivateData(body: PSValue): PSValue {
  return asObject(body)?.get('ApplicationPrivateData') ?? null;
}

/** A state change with the server's reason (ExceptionAsErrorRecord), when it gave one. */
export interface StateInfo<S> {
  readonly state: S;
  readonly reason?: ErrorRecordInfo;
}

function reasonOf(o: PSObject | undefined): { reason?: ErrorRecordInfo } {
  const ex = o?.get('ExceptionAsErrorRecord');
  return ex ? { reason: decodeErrorRecord(ex) } : {};
}

/** RUNSPACEPOOL_STATE (MS-PSRP 2.2.2.9; the wire value is the index in RUNSPACE_POOL_STATES, 2.2.3.4). */
export function decodeRunspacePoolState(body: PSValue): StateInfo<RunspacePoolState> {
  const o = asObject(body);
  const n = asNumber(o?.get('RunspaceState'));
  const state = n === undefined ? undefined : RUNSPACE_POOL_STATES[n];
  if (!state)
    throw new PsrpProtocolError('PsrpMalformedMessage', `RUNSPACEPOOL_STATE without a valid RunspaceState`);
  return { state, ...reasonOf(o) };
}

/** PIPELINE_STATE (MS-PSRP 2.2.2.21; the wire value is the index in INVOCATION_STATES, 2.2.3.5). */
export function decodePipelineState(body: PSValue): StateInfo<PSInvocationState> {
  const o = asObject(body);
  const n = asNumber(o?.get('PipelineState'));
  const state = n === undefined ? undefined : INVOCATION_STATES[n];
  if (!state)
    throw new PsrpProtocolError('PsrpMalformedMessage', 'PIPELINE_STATE without a valid PipelineState');
  return { state, ...reasonOf(o) };
}

/** ENCRYPTED_SESSION_KEY (MS-PSRP 2.2.2.4): the base64 SIMPLEBLOB, undefined when absent. */
export function decodeEncryptedSessionKey(body: PSValue): string | undefined {
  return asString(asObject(body)?.get('EncryptedSessionKey'));
}

export interface RunspaceAvailabilityInfo {
  readonly value: PSValue;
  readonly callId?: bigint;
}

/**
 * RUNSPACE_AVAILABILITY (MS-PSRP 2.2.2.8): SetMinMaxRunspacesResponse (a Boolean) or the available count (Int64),
 * with the call id of the request.
 */
export function decodeRunspaceAvailability(body: PSValue): RunspaceAvailabilityInfo {
  const o = asObject(body);
  const callId = asBigInt(o?.get('ci'));
  return {
    value: o?.get('SetMinMaxRunspacesResponse') ?? body,
    ...(callId !== undefined ? { callId } : {}),
  };
}

/** RUNSPACEPOOL_INIT_DATA (MS-PSRP 2.2.2.30): the pool's min/max, the answer to CONNECT_RUNSPACEPOOL. */
export function decodeRunspacePoolInitData(body: PSValue): { minRunspaces: number; maxRunspaces: number } {
  const o = asObject(body);
  return {
    minRunspaces: asNumber(o?.get('MinRunspaces')) ?? 1,
    maxRunspaces: asNumber(o?.get('MaxRunspaces')) ?? 1,
  };
}

/**
 * RUNSPACEPOOL_HOST_CALL / PIPELINE_HOST_CALL (MS-PSRP 2.2.2.15, 2.2.2.27): the call id (-100 when absent: a
 * void call), the method, and its arguments as sent and typed by method (decodeHostCall).
 */
export function decodeHostCallMessage(body: PSValue): HostCall {
  const o = asObject(body);
  if (!o) throw new PsrpProtocolError('PsrpMalformedMessage', 'a host call without a body');
  const ci = o.get('ci');
  const callId = asBigInt(ci) ?? BigInt(asNumber(ci) ?? -100);
  const methodId = enumValue(o.get('mi')) ?? asNumber(o.get('mi'));
  if (methodId === undefined)
    throw new PsrpProtocolError('PsrpMalformedMessage', 'a host call without a method id');
  const mp = o.get('mp');
  const args = mp instanceof PSObject && mp.baseValue instanceof PSList ? [...mp.baseValue.items] : [];
  return {
    callId,
    methodId,
    methodName: hostMethodName(methodId),
    args,
    decoded: decodeHostCall(methodId, args),
  };
}

/** DEBUG_RECORD / VERBOSE_RECORD / WARNING_RECORD (MS-PSRP 2.2.3.16): the record's message text. */
export function decodeInformationalRecord(body: PSValue): string {
  const o = asObject(body);
  return asString(o?.get('InformationalRecord_Message')) ?? (o ? o.toString() : String(body));
}
