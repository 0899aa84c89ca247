import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

// Where the agent listens, without core: bin.js connects to the agent with it before the CLI is loaded
// (fast-path.ts).

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

/** The agent directory's rule (ensureAgentDirectory): a directory, not a link, this user's, mode 0700 or less. */
export function isPrivateDirectory(
  st: { isDirectory(): boolean; isSymbolicLink(): boolean; uid: number; mode: number },
  uid: number,
): boolean {
  return st.isDirectory() && !st.isSymbolicLink() && st.uid === uid && (st.mode & 0o077) === 0;
}
