import type { HostUi } from './host-ui.ts';

/**
 * One wait at a time for a HostUi whose terminal is full (`HostUi.drained`): the reader of the server (a session's
 * receive loop, the agent client's socket) holds while `waiting`, and `resumed` tells it to go on once the wait is
 * over, whether the terminal drained or failed (a failed terminal is the caller's to notice, never a stuck reader).
 */
export class HostBacklog {
  private current: Promise<void> | undefined;

  get waiting(): boolean {
    return this.current !== undefined;
  }

  /**
   * Asks the HostUi whether its terminal is full, unless a wait is on already (each ask would listen on its
   * streams again), and waits when it is; `resumed` runs when that wait settles. True while waiting.
   */
  hold(hostUi: Pick<HostUi, 'drained'>, resumed: () => void): boolean {
    if (this.current) return true;
    const wait = hostUi.drained?.();
    if (!wait) return false;
    const settled = wait.then(
      () => undefined,
      () => undefined,
    );
    this.current = settled;
    void settled.then(() => {
      if (this.current === settled) this.current = undefined;
      resumed();
    });
    return true;
  }
}
