import { lstatSync, mkdirSync } from 'node:fs';
import { PSRemotingError } from '@psremote/core';
import { type AgentPaths, isPrivateDirectory } from './locate.ts';

export { type AgentPaths, agentPaths } from './locate.ts';

/**
 * Who may connect. Node exposes no SO_PEERCRED, so the peer's uid is not read from the socket; instead the kernel's
 * own checks do the work: the socket sits in this directory, which only its owner can search (0700, checked here
 * on every start and connect), and the socket is 0600, so another uid's connect() fails with EACCES before the
 * agent sees it. A client must also present the token of `agent.token` (0600, random per agent start), which
 * only this user can read: a socket someone else managed to put in place, or a leaked descriptor, is not enough.
 * (Root passes every permission check, as with any Unix socket.) Reading the peer from /proc/net/unix was rejected:
 * it gives inodes, not the peer's pid, without privileged tools.
 *
 * Makes the directory (0700) and checks it is safe to trust: a real directory, not a link, owned by this user,
 * with no group or other bits. Another user who made it first (a shared /tmp) must not get to place a socket or
 * token of theirs there: psremote then refuses, as OpenSSH refuses a ControlPath it cannot trust.
 */
export function ensureAgentDirectory(paths: AgentPaths, platform: NodeJS.Platform = process.platform): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  if (platform === 'win32') return;
  const st = lstatSync(paths.dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!isPrivateDirectory(st, uid)) {
    throw new PSRemotingError(
      `The agent directory ${paths.dir} is not private to this user (it must be a directory owned by uid ${uid}, mode 0700; it is ${st.isSymbolicLink() ? 'a symbolic link' : `owned by uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`}). psremote does not use it.`,
      {
        errorId: 'AgentAccessDenied',
        category: 'SecurityError',
        targetObject: paths.dir,
        recommendedAction: `Remove ${paths.dir}, or set PSREMOTE_AGENT_DIR to a private directory.`,
      },
    );
  }
}
