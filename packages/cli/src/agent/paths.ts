import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { PSRemotingError } from '@psremote/core';

/** Where the agent of this user listens, and the files beside its socket. */
export interface AgentPaths {
  /** The private directory (0700, owned by the user); on Windows, the directory of the token file. */
  readonly dir: string;
  /** The Unix socket path, or the named pipe on Windows. */
  readonly socket: string;
  /** The token a client must present (0600): only the user can read it. */
  readonly token: string;
  /** Held while one client starts the agent, so two clients never start two. */
  readonly lock: string;
  /** The running agent's pid. */
  readonly pid: string;
}

/**
 * `$XDG_RUNTIME_DIR/psremote` (systemd makes that directory per user, 0700), else `<tmpdir>/psremote-<uid>`. On
 * Windows a named pipe named for the user, with the token file under %LOCALAPPDATA%\psremote.
 * PSREMOTE_AGENT_DIR overrides the directory (tests give each file its own agent).
 */
export function agentPaths(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): AgentPaths {
  if (platform === 'win32') {
    const user = userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '_');
    const dir = env.PSREMOTE_AGENT_DIR ?? join(env.LOCALAPPDATA ?? tmpdir(), 'psremote');
    const suffix = env.PSREMOTE_AGENT_DIR ? `-${Buffer.from(dir).toString('hex').slice(-16)}` : '';
    return {
      dir,
      socket: `\\\\.\\pipe\\psremote-agent-${user}${suffix}`,
      token: join(dir, 'agent.token'),
      lock: join(dir, 'agent.lock'),
      pid: join(dir, 'agent.pid'),
    };
  }
  const uid = process.getuid?.() ?? 0;
  const dir =
    env.PSREMOTE_AGENT_DIR ??
    (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'psremote') : join(tmpdir(), `psremote-${uid}`));
  return {
    dir,
    socket: join(dir, 'agent.sock'),
    token: join(dir, 'agent.token'),
    lock: join(dir, 'agent.lock'),
    pid: join(dir, 'agent.pid'),
  };
}

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
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== uid || (st.mode & 0o077) !== 0) {
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
