export {
  type ContainerTarget,
  containerTransport,
  createContainerTransport,
  register,
  type TransportContainer,
} from './container-transport.ts';
export { ExecDemuxer } from './demux.ts';
export { type EngineEndpoint, resolveEndpoint } from './endpoint.ts';
export { EngineClient, MAX_API_VERSION } from './engine-api.ts';
