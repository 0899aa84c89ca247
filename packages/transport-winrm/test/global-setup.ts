import type { TestProject } from 'vitest/node';
import { type OmiPeer, OmiUnavailable, startOmi } from './peer/omi.ts';

/** What the tests get through `inject('omiPeer')`: the running peer without its stop function. */
export type ProvidedOmiPeer = Omit<OmiPeer, 'stop'>;

let peer: OmiPeer | undefined;

/**
 * Starts the OMI peer (test/peer/omi.ts: Microsoft's WS-Management server with PowerShell's WSMan plugin) on free
 * ports for this project's tests and stops it by pid afterwards. With PSREMOTE_REQUIRE_PEERS=1 a peer that cannot
 * be had fails the run; otherwise the tests that need it skip with the printed reason.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let why = '';
  try {
    peer = await startOmi();
  } catch (e) {
    why = e instanceof OmiUnavailable ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
  }
  if (why) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
      throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the OMI peer is unavailable: ${why}`);
    console.warn(`[transport-winrm] OMI peer unavailable, its tests skip: ${why}`);
  }
  const { stop: _stop, ...data } = peer ?? ({ stop: undefined } as unknown as OmiPeer);
  project.provide('omiPeer', peer ? (data as ProvidedOmiPeer) : null);
  project.provide('omiPeerMissing', why);
  return async () => {
    await peer?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    omiPeer: ProvidedOmiPeer | null;
    omiPeerMissing: string;
  }
}
