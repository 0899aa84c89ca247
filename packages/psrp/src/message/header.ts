import { PsrpProtocolError } from '../errors.ts';
import { guidFromBytes, guidToBytes } from '../guid.ts';

/** MS-PSRP 2.2.1 message types (PowerShell EncodeAndDecode.cs RemotingDataType). */
export const MessageType = {
  SESSION_CAPABILITY: 0x00010002,
  CLOSE_SESSION: 0x00010003,
  INIT_RUNSPACEPOOL: 0x00010004,
  PUBLIC_KEY: 0x00010005,
  ENCRYPTED_SESSION_KEY: 0x00010006,
  PUBLIC_KEY_REQUEST: 0x00010007,
  CONNECT_RUNSPACEPOOL: 0x00010008,
  SET_MAX_RUNSPACES: 0x00021002,
  SET_MIN_RUNSPACES: 0x00021003,
  RUNSPACE_AVAILABILITY: 0x00021004,
  RUNSPACEPOOL_STATE: 0x00021005,
  CREATE_PIPELINE: 0x00021006,
  GET_AVAILABLE_RUNSPACES: 0x00021007,
  USER_EVENT: 0x00021008,
  APPLICATION_PRIVATE_DATA: 0x00021009,
  GET_COMMAND_METADATA: 0x0002100a,
  RUNSPACEPOOL_INIT_DATA: 0x0002100b,
  RESET_RUNSPACE_STATE: 0x0002100c,
  RUNSPACEPOOL_HOST_CALL: 0x00021100,
  RUNSPACEPOOL_HOST_RESPONSE: 0x00021101,
  PIPELINE_INPUT: 0x00041002,
  END_OF_PIPELINE_INPUT: 0x00041003,
  PIPELINE_OUTPUT: 0x00041004,
  ERROR_RECORD: 0x00041005,
  PIPELINE_STATE: 0x00041006,
  DEBUG_RECORD: 0x00041007,
  VERBOSE_RECORD: 0x00041008,
  WARNING_RECORD: 0x00041009,
  PROGRESS_RECORD: 0x00041010,
  INFORMATION_RECORD: 0x00041011,
  PIPELINE_HOST_CALL: 0x00041100,
  PIPELINE_HOST_RESPONSE: 0x00041101,
  STOP_POWERSHELL: 0x00041012,
} as const;

export type MessageTypeName = keyof typeof MessageType;

const NAMES = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));

export function messageTypeName(code: number): string {
  return NAMES.get(code) ?? `Unknown(0x${code.toString(16).padStart(8, '0')})`;
}

export function isKnownMessageType(code: number): boolean {
  return NAMES.has(code);
}

export const Destination = { Client: 1, Server: 2 } as const;

export interface PsrpMessage {
  readonly destination: number;
  readonly messageType: number;
  readonly runspacePoolId: string;
  readonly pipelineId: string;
  readonly data: Uint8Array;
}

const HEADER = 40;

/** MS-PSRP 2.2.1: Destination and MessageType little-endian, RPID, PID, then the data. */
export function encodeMessage(m: PsrpMessage): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER + m.data.length);
  out.writeUInt32LE(m.destination, 0);
  out.writeUInt32LE(m.messageType, 4);
  out.set(guidToBytes(m.runspacePoolId), 8);
  out.set(guidToBytes(m.pipelineId), 24);
  out.set(m.data, HEADER);
  return out;
}

/** Decodes a message; the UTF-8 BOM PowerShell writes before the XML (fragmentor.cs) is stripped. */
export function decodeMessage(bytes: Uint8Array): PsrpMessage {
  if (bytes.length < HEADER) {
    throw new PsrpProtocolError(
      'PsrpMessageTruncated',
      `a PSRP message needs ${HEADER} header bytes, got ${bytes.length}`,
    );
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let data = b.subarray(HEADER);
  if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
  return {
    destination: b.readUInt32LE(0),
    messageType: b.readUInt32LE(4),
    runspacePoolId: guidFromBytes(b, 8),
    pipelineId: guidFromBytes(b, 24),
    data,
  };
}
