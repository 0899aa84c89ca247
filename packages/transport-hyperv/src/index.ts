/**
 * @psremote/transport-hyperv: Enter-PSSession's VMId and VMName parameter sets, PowerShell Direct to a Hyper-V VM
 * from its Windows host. On any other host the VM lookup reports HyperVModuleNotAvailable, as PowerShell does.
 */
export type { ByteChannel, StreamChannel } from './byte-channel.ts';
export { streamChannel } from './byte-channel.ts';
export * from './constants.ts';
export { createRunspaceForVMFailed, type HyperVErrorId, hyperVErrors } from './errors.ts';
export { guidBytes, isGuid, sockaddrHv } from './guid.ts';
export {
  type BrokerOutcome,
  type ClosableChannel,
  type DirectCredential,
  directCredential,
  exchangeCredentials,
  exchangeToken,
  type HandshakeOptions,
  negotiateBroker,
  splitUserDomain,
  validateToken,
} from './handshake.ts';
export {
  createHyperVTransport,
  type HyperVTarget,
  type HyperVTransportOptions,
  hyperVTransport,
  type OpenHyperVSocket,
  openAfHyperVSocket,
  parseRegDword,
  readRequirePsDirectAuthentication,
  register,
  type TransportContainer,
} from './hyperv-transport.ts';
export { NativeSocket, NativeSocketError, type NativeSocketOptions } from './native-socket.ts';
export { lookupVm, type VmInfo, type VmQuery } from './vm-lookup.ts';
