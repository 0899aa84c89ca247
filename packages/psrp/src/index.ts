export * from './clixml/builders.ts';
export {
  ClixmlError,
  type DeserializeOptions,
  deserializeClixml,
  deserializeClixmlDocument,
} from './clixml/deserialize.ts';
export { decodeClixmlString, encodeClixmlString } from './clixml/escape.ts';
export {
  formatDouble,
  type SerializeOptions,
  serializeClixml,
  serializeClixmlDocument,
  serializeProperties,
} from './clixml/serialize.ts';
export * from './clixml/value.ts';
export { psValueNumber, psValueText } from './clixml/value-text.ts';
export * from './crypto/session-key.ts';
export { InvalidStateError, PsrpProtocolError } from './errors.ts';
export type { PsrpEvent } from './events.ts';
export * from './fragment/fragment.ts';
export { EMPTY_GUID, guidFromBytes, guidToBytes, newGuid } from './guid.ts';
export * from './host/decode-host-call.ts';
export * from './host/host-call.ts';
export * from './host/host-call-args.ts';
export * from './host/host-method.ts';
export * from './host/host-return.ts';
export {
  type CommandMetadataRequest,
  type CommandSpec,
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
} from './message/codecs/client-messages.ts';
export { enumValue, type PipelineResultType, PipelineResultTypes, psEnum } from './message/codecs/enum.ts';
export {
  consoleColor,
  type DecodedHostInfo,
  decodeHostInfo,
  type HostDefaultData,
} from './message/codecs/host-info.ts';
export {
  applicationPrivateDataBody,
  encryptedSessionKeyBody,
  hostCallBody,
  informationalRecordBody,
  pipelineStateBody,
  publicKeyRequestBody,
  runspaceAvailabilityBody,
  runspacePoolInitDataBody,
  runspacePoolStateBody,
  serverSessionCapabilityBody,
  userEventBody,
} from './message/codecs/server-messages.ts';
export * from './message/header.ts';
export * from './outofproc/packet.ts';
export { ClientPipeline } from './pipeline/client-pipeline.ts';
export * from './pipeline/transitions.ts';
export * from './protocol-version.ts';
export * from './records/records.ts';
export {
  ClientRunspacePool,
  type ClientRunspacePoolOptions,
  type OutgoingPayload,
} from './runspace-pool/client-pool.ts';
export * from './runspace-pool/transitions.ts';
export * as testing from './testing/index.ts';
