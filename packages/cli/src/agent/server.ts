import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  assertEnterable,
  type BoundParameters,
  findSession,
  InteractiveSession,
  type Invocation,
  interactiveLineSpec,
  isPSRemotingError,
  openSession,
  PSRemotingError,
  type PSSession,
  type ResolvedSessionOptions,
  removePSSession,
  resolveSessionOptions,
  type SessionInfo,
  SessionTable,
  selectTransport,
  sessionBusyError,
} from '@psremote/core';
import { createProcessTransport } from '@psremote/transport-process';
import { invokeSpec } from '../invoke-command.ts';
import { drained } from '../io.ts';
import {
  createTransportContainer,
  registeredTransports,
  registerInstalledTransports,
} from '../transports.ts';
import { MAX_CLIENT_FRAME, type Message, readFrames, writeFrame } from './frames.ts';
import { type AgentPaths, agentPaths, ensureAgentDirectory } from './paths.ts';
import { MAX_NONCE_LENGTH, proofOf, sameSecret } from './proof.ts';
import { type HostChannel, type RawUiSnapshot, RelayHostUi } from './relay-host-ui.ts';
import { errorToWire, eventToWire, recordToWire, selectorFromWire } from './wire.ts';

/** How long the agent stays with no session and no client before it exits (PSREMOTE_AGENT_IDLE_MS overrides). */
export const DEFAULT_AGENT_IDLE_MS = 60_000;
/** A client has this long to present the token. */
const HELLO_TIMEOUT_MS = 5_000;
/** At exit, how long a session's close may wait for the server's answer before the transport is torn down. */
const CLOSE_GRACE_MS = 3_000;

interface Held {
  readonly session: PSSession;
  readonly relay: RelayHostUi;
  shell?: InteractiveSession;
  /**
   * Enter-PSSession's preparation (the command check, a container's prompt function) is done at the first enter;
   * what it checks and sets stays in the remote runspace, so later enters skip it.
   */
  prepared?: boolean;
}

/** One session row as `psremote get` shows it, with why a Broken session broke. */
export interface AgentSessionInfo extends SessionInfo {
  readonly reason?: string;
  readonly enteredBy?: string;
}

function infoOf(h: Held): AgentSessionInfo {
  const s = h.session;
  return {
    ...s.info,
    ...(s.reason ? { reason: s.reason.message } : {}),
    ...(s.enteredHolder ? { enteredBy: s.enteredHolder } : {}),
  };
}

/**
 * The session agent (`psremote __agent`, started by the first client that needs it): holds the sessions that
 * `psremote new` opened and serves the CLI over a private socket. Returns the exit status.
 */
export async function runAgent(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const paths = agentPaths(env);
  // The socket and token are created the user's alone, whatever umask the agent was started with; the umask is
  // given back once they exist, so the sessions' local pwsh children create files as the user expects.
  const umask = process.platform !== 'win32' ? process.umask(0o077) : undefined;
  ensureAgentDirectory(paths);
  if (await listening(paths.socket)) return 0; // another agent already serves this user
  if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
  const token = randomBytes(32).toString('hex');
  writeFileSync(paths.token, token, { mode: 0o600 });
  if (process.platform !== 'win32') chmodSync(paths.token, 0o600);
  // Its pid, for the user (and the tests) to find and stop it.
  writeFileSync(paths.pid, `${process.pid}\n`, { mode: 0o600 });

  const container = await createTransportContainer();
  await registerInstalledTransports(container, env);
  const plugins = registeredTransports(container);
  const table = new SessionTable();
  const held = new Map<number, Held>();
  const idleMs = Number(env.PSREMOTE_AGENT_IDLE_MS ?? DEFAULT_AGENT_IDLE_MS);
  let clients = 0;
  let opening = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let ending = false;

  const server: Server = createServer((socket) => serve(socket));
  const checkIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    if (held.size === 0 && clients === 0 && opening === 0)
      idleTimer = setTimeout(() => void shutdown(0), Math.max(0, idleMs));
  };

  const shutdown = async (status: number): Promise<void> => {
    if (ending) return;
    ending = true;
    server.close();
    // Every session is closed on its server: pwsh children end, SSH channels and container execs close.
    await Promise.all(
      [...held.values()].map(async ({ session }) => {
        const closing = session.close().catch(() => {});
        const timer = new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref());
        await Promise.race([closing, timer]);
        // Not answered in time: a second close disposes the transport at once (the local pwsh killed).
        await Promise.race([
          session.close().catch(() => {}),
          new Promise((r) => setTimeout(r, 1000).unref()),
        ]);
      }),
    );
    try {
      if (readFileSync(paths.token, 'utf8') === token) {
        rmSync(paths.token, { force: true });
        rmSync(paths.pid, { force: true });
        if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
      }
    } catch {
      // Already gone.
    }
    process.exit(status);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0));
  // A defect in one session's handling must not end the others: it is written to agent.log (0600) and the agent
  // goes on.
  const logDefect = (e: unknown) => {
    try {
      appendFileSync(
        join(paths.dir, 'agent.log'),
        `${new Date().toISOString()} ${(e as Error)?.stack ?? String(e)}\n`,
        { mode: 0o600 },
      );
    } catch {
      // Nowhere to write it.
    }
  };
  process.on('uncaughtException', logDefect);
  process.on('unhandledRejection', logDefect);

  function serve(socket: Socket): void {
    if (ending) {
      socket.destroy(); // the client tries again and starts a new agent
      return;
    }
    clients++;
    checkIdle();
    let authed = false;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const send = (m: Message) => writeFrame(socket, m);
    let nextCallId = 1;
    const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
    let interactive = false;
    const channel: HostChannel = {
      get interactive() {
        return interactive;
      },
      call(method, args, signal) {
        const id = nextCallId++;
        return new Promise((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          const onAbort = () => {
            calls.delete(id);
            send({ t: 'uiCancel', id });
            reject(signal?.reason);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          calls.set(id, {
            resolve: (v) => {
              signal?.removeEventListener('abort', onAbort);
              resolve(v);
            },
            reject: (e) => {
              signal?.removeEventListener('abort', onAbort);
              reject(e);
            },
          });
          send({ t: 'ui', id, method, args });
        });
      },
      notify(method, args) {
        send({ t: 'ui', method, args });
      },
      drained: () => drained(socket),
    };

    // What this client is doing.
    let current: Held | undefined;
    let release: (() => void) | undefined;
    let running: Invocation | undefined;
    let connecting: AbortController | undefined;
    const offs: (() => void)[] = [];

    const leave = () => {
      for (const off of offs.splice(0)) off();
      current?.relay.detach(channel);
      release?.();
      release = undefined;
      current = undefined;
    };

    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(helloTimer);
      for (const c of calls.values()) c.reject(new Error('the client is gone'));
      calls.clear();
      // The client died (Ctrl+C'd away, terminal closed, killed): its command is stopped, the session stays.
      connecting?.abort();
      if (running) void running.stop().catch(() => {});
      leave();
      clients--;
      checkIdle();
    });

    readFrames(
      socket,
      MAX_CLIENT_FRAME,
      (m) => {
        void handle(m).catch((e: unknown) => send({ t: 'error', error: errorToWire(e) }));
      },
      () => socket.destroy(),
    );

    async function handle(m: Message): Promise<void> {
      if (!authed) {
        // The token itself (bin.js's early greeting, in the private directory) or the proof of it (AgentClient).
        const nonce =
          typeof m.nonce === 'string' && m.nonce.length > 0 && m.nonce.length <= MAX_NONCE_LENGTH
            ? m.nonce
            : undefined;
        const proven =
          m.t === 'hello' &&
          (sameSecret(m.token, token) ||
            (nonce !== undefined && sameSecret(m.proof, proofOf(token, 'client', nonce))));
        if (!proven) {
          send({
            t: 'error',
            error: errorToWire(
              new PSRemotingError('The psremote agent refused the connection: the token is wrong.', {
                errorId: 'AgentAccessDenied',
                category: 'SecurityError',
              }),
            ),
          });
          socket.end();
          return;
        }
        authed = true;
        clearTimeout(helloTimer);
        // attachPrompt: an attach request may ask for the prompt too (fast-path.ts), sent after its result.
        send({
          t: 'hello',
          pid: process.pid,
          features: ['attachPrompt'],
          ...(nonce !== undefined ? { proof: proofOf(token, 'agent', nonce) } : {}),
        });
        return;
      }
      switch (m.t) {
        case 'uiReply': {
          const c = calls.get(Number(m.id));
          calls.delete(Number(m.id));
          if (!c) return;
          if (m.ok) c.resolve(m.value);
          else
            c.reject(
              new PSRemotingError(String((m.error as { message?: string })?.message ?? 'host error'), {
                errorId: 'AgentProtocolError',
                category: 'ProtocolError',
              }),
            );
          return;
        }
        case 'get':
          send({ t: 'result', sessions: [...held.values()].map(infoOf) });
          return;
        case 'new':
          await newSession(m);
          return;
        case 'remove': {
          const selectors = Array.isArray(m.selectors) ? m.selectors.map(selectorFromWire) : [];
          const removed: AgentSessionInfo[] = [];
          for (const sel of selectors) {
            if (!sel) continue;
            let s: PSSession;
            try {
              s = findSession(sel, table);
            } catch (e) {
              // Remove-PSSession's own error (RemotingErrorIdStrings: the same text, its command).
              if (!isPSRemotingError(e)) throw e;
              throw new PSRemotingError(e.message, {
                errorId: e.errorId,
                category: e.category,
                targetObject: e.targetObject,
                commandName: 'Microsoft.PowerShell.Commands.RemovePSSessionCommand',
              });
            }
            const h = held.get(s.id);
            if (h) removed.push(infoOf(h));
            await removePSSession({ session: s }, { table });
            held.delete(s.id);
          }
          send({ t: 'result', removed });
          checkIdle();
          return;
        }
        case 'attach':
          await attach(m);
          return;
        case 'prompt': {
          const shell = requireAttached();
          current?.relay.update(snapshotOf(m.raw));
          send({ t: 'prompt', text: await shellOf(shell).prompt() });
          return;
        }
        case 'complete': {
          const h = requireAttached();
          const r = await shellOf(h).complete(String(m.line ?? ''), Number(m.cursor ?? 0));
          send({ t: 'completion', result: r });
          return;
        }
        case 'run':
          await run(m);
          return;
        case 'interrupt':
          if (connecting) connecting.abort();
          else if (running) running.interrupt();
          else current?.session.interrupt();
          return;
        case 'leave':
          leave();
          send({ t: 'result' });
          return;
        default:
          throw new PSRemotingError(`The psremote agent does not know the request '${m.t}'.`, {
            errorId: 'AgentProtocolError',
            category: 'ProtocolError',
          });
      }
    }

    function requireAttached(): Held {
      if (!current)
        throw new PSRemotingError('The client is in no session of the agent.', {
          errorId: 'AgentProtocolError',
          category: 'ProtocolError',
        });
      return current;
    }

    async function newSession(m: Message): Promise<void> {
      const bound = (m.bound ?? undefined) as BoundParameters | undefined;
      const clientEnv = (typeof m.env === 'object' && m.env !== null ? m.env : env) as Record<
        string,
        string | undefined
      >;
      interactive = m.interactive === true;
      const plugin = bound
        ? selectTransport(plugins, bound.parameterSet)
        : createProcessTransport(typeof m.pwsh === 'string' ? { pwshPath: m.pwsh } : {});
      const relay = new RelayHostUi();
      relay.attach(channel, snapshotOf(m.raw));
      const abort = new AbortController();
      connecting = abort;
      opening++;
      try {
        const session = await openSession({
          transport: plugin,
          ...(bound ? { bound } : {}),
          hostUi: relay,
          signal: abort.signal,
          env: clientEnv,
          table,
          sessionOptions:
            (m.sessionOptions as ResolvedSessionOptions | undefined) ?? resolveSessionOptions(undefined),
          ...(typeof m.name === 'string' && m.name !== '' ? { name: m.name } : {}),
        });
        const h: Held = { session, relay };
        held.set(session.id, h);
        send({ t: 'result', info: infoOf(h) });
      } finally {
        relay.detach(channel);
        connecting = undefined;
        opening--;
        checkIdle();
      }
    }

    async function attach(m: Message): Promise<void> {
      const sel = selectorFromWire(m.selector);
      if (!sel)
        throw new PSRemotingError('The request names no session.', {
          errorId: 'AgentProtocolError',
          category: 'ProtocolError',
        });
      if (current) leave();
      const s = findSession(sel, table);
      const h = held.get(s.id);
      if (!h) throw new Error('session not held');
      const mode = m.mode === 'invoke' ? 'invoke' : 'enter';
      if (mode === 'enter') assertEnterable(s);
      else if (s.state !== 'Opened') {
        throw (
          s.reason ??
          new PSRemotingError(
            `The session ${s.name}, ${s.instanceId}, ${s.computerName} is not available to run commands.  The session availability is None.`,
            {
              errorId: 'InvokeCommandCommandInvalidSessionAvailability',
              category: 'InvalidOperation',
              targetObject: s.name,
              commandName: 'Microsoft.PowerShell.Commands.InvokeCommandCommand',
            },
          )
        );
      }
      const holder = `psremote ${mode} (pid ${Number(m.pid) || 'unknown'})`;
      try {
        release = s.acquireEnter(holder);
      } catch (e) {
        if (mode === 'invoke' && isPSRemotingError(e))
          throw sessionBusyError(s, 'InvokeCommandCommandInvalidSessionAvailability');
        throw e;
      }
      current = h;
      interactive = m.interactive === true;
      h.relay.attach(channel, snapshotOf(m.raw));
      offs.push(
        s.onStateChange((state, reason) =>
          send({ t: 'state', state, ...(reason ? { reason: errorToWire(reason) } : {}) }),
        ),
        s.onExitRequested((code) => send({ t: 'exit', code })),
      );
      try {
        if (mode === 'enter' && !h.prepared) {
          await shellOf(h).enter();
          h.prepared = true;
        }
      } catch (e) {
        leave();
        throw e;
      }
      send({ t: 'result', info: infoOf(h) });
      // The prompt at once (bin.js asks for it before the CLI is loaded): the remote prompt function runs while the
      // client starts, as it would at the client's first `prompt` request, with the same RawUI.
      if (mode === 'enter' && m.prompt === true) {
        try {
          send({ t: 'prompt', text: await shellOf(h).prompt() });
        } catch (e) {
          send({ t: 'error', error: errorToWire(e) });
        }
      }
    }

    async function run(m: Message): Promise<void> {
      const h = requireAttached();
      h.relay.update(snapshotOf(m.raw));
      let inv: Invocation;
      try {
        inv = h.session.invoke(
          typeof m.line === 'string'
            ? interactiveLineSpec(m.line)
            : invokeSpec(String(m.script ?? ''), m.json === true, Number(m.width) || 120),
          { hostUi: h.relay },
        );
      } catch (e) {
        send({ t: 'done', error: errorToWire(e) });
        return;
      }
      running = inv;
      try {
        for await (const ev of inv) {
          send({ t: 'event', ev: eventToWire(ev) });
          // A client that reads slowly holds the session's next event (and so the server), not this process.
          await drained(socket);
        }
        const end = await inv.finished;
        send({ t: 'done', state: end.state, reason: recordToWire(end.reason) });
      } catch (e) {
        send({ t: 'done', error: errorToWire(e) });
      } finally {
        running = undefined;
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(paths.socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (process.platform !== 'win32') chmodSync(paths.socket, 0o600);
  if (umask !== undefined) process.umask(umask);
  checkIdle();
  // Kept alive by the server until shutdown() exits.
  return await new Promise<number>(() => {});
}

/** The session's InteractiveSession, made at the first enter and kept (its exit listener stays one). */
function shellOf(h: Held): InteractiveSession {
  if (!h.shell) h.shell = new InteractiveSession(h.session);
  return h.shell;
}

function snapshotOf(x: unknown): RawUiSnapshot | null {
  return typeof x === 'object' && x !== null ? (x as RawUiSnapshot) : null;
}

/** True when an agent answers on the socket. */
export function listening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export type { AgentPaths };
