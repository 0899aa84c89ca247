import type { TestProject } from 'vitest/node';
import { type ContainerPeer, startContainerPeer, stopContainerPeer } from './container-peer.ts';

let peer: ContainerPeer | undefined;

export default async function setup(project: TestProject): Promise<() => void> {
  try {
    peer = await startContainerPeer();
    project.provide('containerSocket', peer.socket);
    project.provide('containerWithPwshId', peer.withPwshId);
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
      throw new Error(
        `PSREMOTE_REQUIRE_PEERS=1 but the podman peer could not start: ${(e as Error).message}`,
      );
    console.warn(`[transport-container] podman peer unavailable, its tests skip: ${(e as Error).message}`);
    project.provide('containerSocket', '');
    project.provide('containerWithPwshId', '');
  }
  return () => stopContainerPeer(peer);
}

declare module 'vitest' {
  export interface ProvidedContext {
    containerSocket: string;
    containerWithPwshId: string;
  }
}
