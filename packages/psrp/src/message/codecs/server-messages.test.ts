import { describe, expect, it } from 'vitest';
import { PSPrimitive } from '../../clixml/value.ts';
import type { PsrpProtocolError } from '../../errors.ts';
import { EMPTY_GUID } from '../../guid.ts';
import { hostMethodId } from '../../host/host-method.ts';
import { errorRecordObject } from '../../records/records.ts';
import { Destination, encodeMessage, MessageType } from '../header.ts';
import {
  applicationPrivateDataBody,
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
  encryptedSessionKeyBody,
  hostCallBody,
  informationalRecordBody,
  pipelineStateBody,
  runspaceAvailabilityBody,
  runspacePoolInitDataBody,
  runspacePoolStateBody,
  serverSessionCapabilityBody,
} from './server-messages.ts';

const read = (body: string) => decodeMessageBody(Buffer.from(body, 'utf8'));

function refusal(f: () => unknown): { errorId: string; remote: boolean } {
  try {
    f();
  } catch (e) {
    return { errorId: (e as PsrpProtocolError).errorId, remote: (e as PsrpProtocolError).remote };
  }
  throw new Error('no refusal');
}

describe('server -> client messages: what each encoder writes, its decoder reads back', () => {
  it('SESSION_CAPABILITY, with 2.0 for a missing protocolversion and a refusal for a text System.Version rejects', () => {
    expect(decodeServerSessionCapability(read(serverSessionCapabilityBody('2.3', '7.4')))).toEqual({
      protocolVersion: '2.3',
      psVersion: '7.4',
      serializationVersion: '1.1.0.1',
    });
    expect(decodeServerSessionCapability(read('<Obj RefId="0"><MS/></Obj>')).protocolVersion).toBe('2.0');
    for (const bad of ['2', '2.3.4.5.6', '2..3', '1234567890.1', 'x'.repeat(100_000)]) {
      const body = `<Obj RefId="0"><MS><S N="protocolversion">${bad}</S></MS></Obj>`;
      expect(refusal(() => decodeServerSessionCapability(read(body)))).toEqual({
        errorId: 'PsrpMalformedMessage',
        remote: true,
      });
    }
  });

  it('RUNSPACEPOOL_STATE and PIPELINE_STATE: the state by its index, the reason when the server gave one', () => {
    expect(decodeRunspacePoolState(read(runspacePoolStateBody('Opened')))).toEqual({ state: 'Opened' });
    const error = errorRecordObject({ message: 'gone', fullyQualifiedErrorId: 'Gone' });
    const broken = decodeRunspacePoolState(read(runspacePoolStateBody('Broken', error)));
    expect(broken.state).toBe('Broken');
    expect(broken.reason).toMatchObject({ message: 'gone', fullyQualifiedErrorId: 'Gone' });
    expect(decodePipelineState(read(pipelineStateBody('Completed')))).toEqual({ state: 'Completed' });
    expect(decodePipelineState(read(pipelineStateBody('Failed', error))).reason?.message).toBe('gone');
    const outOfRange =
      '<Obj RefId="0"><MS><I32 N="PipelineState">7</I32><I32 N="RunspaceState">10</I32></MS></Obj>';
    expect(refusal(() => decodePipelineState(read(outOfRange))).errorId).toBe('PsrpMalformedMessage');
    expect(refusal(() => decodeRunspacePoolState(read(outOfRange))).errorId).toBe('PsrpMalformedMessage');
    expect(refusal(() => decodeRunspacePoolState(null)).errorId).toBe('PsrpMalformedMessage');
  });

  it('RUNSPACE_AVAILABILITY: the answer and the Int64 call id; a call id of another type is no call id', () => {
    expect(decodeRunspaceAvailability(read(runspaceAvailabilityBody(7n, true)))).toEqual({
      value: true,
      callId: 7n,
    });
    const count = decodeRunspaceAvailability(read(runspaceAvailabilityBody(8n, 3n)));
    expect(count.callId).toBe(8n);
    expect(count.value).toBeInstanceOf(PSPrimitive);
    expect(
      decodeRunspaceAvailability(read('<Obj RefId="0"><MS><I32 N="ci">9</I32></MS></Obj>')),
    ).not.toHaveProperty('callId');
    // A bare value (no SetMinMaxRunspacesResponse) is the answer itself.
    expect(decodeRunspaceAvailability(read('<B>false</B>'))).toEqual({ value: false });
  });

  it('the pool messages with plain fields: APPLICATION_PRIVATE_DATA, ENCRYPTED_SESSION_KEY, RUNSPACEPOOL_INIT_DATA', () => {
    const data = decodeApplicationPrivateData(read(applicationPrivateDataBody('private')));
    expect(data).toBe('private');
    expect(decodeApplicationPrivateData(read('<Obj RefId="0"><MS/></Obj>'))).toBeNull();
    expect(decodeEncryptedSessionKey(read(encryptedSessionKeyBody('QUJD')))).toBe('QUJD');
    expect(decodeEncryptedSessionKey(read('<S>x</S>'))).toBeUndefined();
    expect(decodeRunspacePoolInitData(read(runspacePoolInitDataBody(2, 5)))).toEqual({
      minRunspaces: 2,
      maxRunspaces: 5,
    });
    expect(decodeRunspacePoolInitData(null)).toEqual({ minRunspaces: 1, maxRunspaces: 1 });
  });

  it('host calls: ci, mi, mp typed by method; -100 without a call id; refused without a method id or a body', () => {
    const id = hostMethodId('WriteLine2');
    const call = decodeHostCallMessage(read(hostCallBody(-100n, id, ['hello'])));
    expect(call).toMatchObject({ callId: -100n, methodId: id, methodName: 'WriteLine2', args: ['hello'] });
    expect(call.decoded.method).toBe('WriteLine2');
    const noCallId = `<Obj RefId="0"><MS><I32 N="mi">${id}</I32></MS></Obj>`;
    expect(decodeHostCallMessage(read(noCallId))).toMatchObject({ callId: -100n, args: [] });
    const noMethod = '<Obj RefId="0"><MS><I64 N="ci">1</I64></MS></Obj>';
    expect(refusal(() => decodeHostCallMessage(read(noMethod))).errorId).toBe('PsrpMalformedMessage');
    expect(refusal(() => decodeHostCallMessage('text')).errorId).toBe('PsrpMalformedMessage');
  });

  it("DEBUG/VERBOSE/WARNING_RECORD: the record's message, else its text", () => {
    const body = informationalRecordBody('careful', 'System.Management.Automation.WarningRecord');
    expect(decodeInformationalRecord(read(body))).toBe('careful');
    expect(decodeInformationalRecord(read('<Obj RefId="0"><ToString>shown</ToString></Obj>'))).toBe('shown');
    expect(decodeInformationalRecord('plain')).toBe('plain');
  });
});

describe('decodeServerMessage: the header of what the server sends', () => {
  const message = (destination: number, messageType: number) =>
    encodeMessage({
      destination,
      messageType,
      runspacePoolId: EMPTY_GUID,
      pipelineId: EMPTY_GUID,
      data: Buffer.from('<S>x</S>'),
    });

  it('passes a client-bound message of a known type, its body unread', () => {
    const m = decodeServerMessage(message(Destination.Client, MessageType.PIPELINE_OUTPUT));
    expect(m.messageType).toBe(MessageType.PIPELINE_OUTPUT);
    expect(Buffer.from(m.data).toString()).toBe('<S>x</S>');
    expect(decodeMessageBody(m.data)).toBe('x');
  });

  it('refuses a message addressed to the server, an unknown type and a truncated header', () => {
    expect(
      refusal(() => decodeServerMessage(message(Destination.Server, MessageType.PIPELINE_OUTPUT))),
    ).toEqual({
      errorId: 'PsrpUnexpectedDestination',
      remote: true,
    });
    expect(refusal(() => decodeServerMessage(message(Destination.Client, 0x00041099))).errorId).toBe(
      'PsrpUnknownMessageType',
    );
    expect(refusal(() => decodeServerMessage(new Uint8Array(39))).errorId).toBe('PsrpMessageTruncated');
  });

  it('reads an empty body as null and the UTF-8 BOM PowerShell writes as nothing', () => {
    expect(decodeMessageBody(new Uint8Array(0))).toBeNull();
    const withBom = encodeMessage({
      destination: Destination.Client,
      messageType: MessageType.PIPELINE_OUTPUT,
      runspacePoolId: EMPTY_GUID,
      pipelineId: EMPTY_GUID,
      data: Buffer.from('\ufeff<I32>5</I32>', 'utf8'),
    });
    expect(decodeMessageBody(decodeServerMessage(withBom).data)).toBe(5);
  });
});
