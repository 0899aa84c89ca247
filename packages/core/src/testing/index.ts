export {
  type ConformanceCheck,
  type ConformanceKill,
  type ConformanceOptions,
  transportConformanceChecks,
} from './conformance.ts';
export {
  createMemoryTransport,
  type MemoryAckKind,
  type MemoryOutOfProcOptions,
  MemoryOutOfProcPair,
  type MemoryTransport,
  type MemoryTransportOptions,
  registerMemoryTransport,
  type TransportRegistrar,
} from './memory-transport.ts';
export { seededRandom } from './seeded-random.ts';
