import type { TransportPlugin } from './contract.ts';

/**
 * DI tokens. `Symbol.for` keeps two copies of core in agreement. Register with `useValue` or `useFactory`:
 * psremote never relies on decorator metadata.
 */
export const TransportPluginToken: symbol & { readonly __type?: TransportPlugin } = Symbol.for(
  '@psremote/core:TransportPlugin',
);
