export { childEnvironment } from './child-environment.ts';
export { findPwsh } from './find-pwsh.ts';
export {
  createProcessTransport,
  type ProcessTarget,
  type ProcessTransportOptions,
  processTransport,
} from './process-transport.ts';
