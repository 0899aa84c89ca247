import type { TestProject } from 'vitest/node';
import { type SshPeer, startSshPeer } from '../../transport-ssh/test/ssh-peer.ts';

/**
 * The CLI's end-to-end tests over SSH need the same private sshd as transport-ssh's (its test/ssh-peer.ts), in a
 * folder of their own so the two test projects never share a pid file or key being written.
 */
let peer: SshPeer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.PSREMOTE_PEERS_DIR ??= '/opt/psremote-peers/cli';
  try {
    peer = await startSshPeer();
    project.provide(
      'sshPeer',
      JSON.stringify({
        port: peer.port,
        key: peer.keys.ed25519,
        knownHosts: peer.knownHostsPath,
        password: peer.password,
      }),
    );
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
      throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the sshd peer could not start: ${(e as Error).message}`);
    console.warn(`[cli] sshd peer unavailable, SSH end-to-end tests skip: ${(e as Error).message}`);
    project.provide('sshPeer', '');
  }
  return async () => {
    await peer?.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    sshPeer: string;
  }
}
