import type { TestProject } from 'vitest/node';
import { type SshPeer, startSshPeer } from './ssh-peer.ts';

/** What the tests get through `inject('sshPeer')`: the peer without its stop function, or why it is missing. */
export type ProvidedSshPeer = Omit<SshPeer, 'stop'>;

let peer: SshPeer | undefined;

/**
 * Starts the private sshd with real pwsh as the `powershell` subsystem (test/ssh-peer.ts) and stops it by pid
 * afterwards. With PSREMOTE_REQUIRE_PEERS=1 a peer that cannot be had fails the run; otherwise the live tests
 * skip with the printed reason.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let why = '';
  try {
    peer = await startSshPeer();
  } catch (e) {
    why = (e as Error).message;
  }
  if (why) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
      throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the sshd peer is unavailable: ${why}`);
    console.warn(`[transport-ssh] sshd peer unavailable, its live tests skip: ${why}`);
  }
  const { stop: _stop, ...data } = peer ?? ({ stop: undefined } as unknown as SshPeer);
  project.provide('sshPeer', peer ? (data as ProvidedSshPeer) : null);
  project.provide('sshPeerMissing', why);
  return async () => {
    await peer?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    sshPeer: ProvidedSshPeer | null;
    sshPeerMissing: string;
  }
}
