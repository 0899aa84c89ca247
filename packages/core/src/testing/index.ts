export {
  type ConformanceCheck,
  type ConformanceOptions,
  transportConformanceChecks,
} from './conformance.ts';
