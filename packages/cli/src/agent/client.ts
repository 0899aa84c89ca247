import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostBacklog, type HostUi, PSRemotingError } from '@psremote/core';
import { mark } from '../timing.ts';
import { MAX_AGENT_FRAME, type Message, readFrames, writeFrame } from './frames.ts';
import { type AgentPaths, agentPaths, ensureAgentDirectory } from './paths.ts';
import { newNonce, proofOf, sameSecret } from './proof.ts';
import { answerHostCall } from './relay-host-ui.ts';
import { errorFromWire, type WireError } from './wire.ts';

/** How long a client waits for an agent it started to listen. */
const START_TIMEOUT_MS = 10_000;
/** Messages read from the agent and not yet taken, before the socket is no longer read (backpressure). */
const MAX_MESSAGES_AHEAD = 64;
/** A start lock older than this is left over from a client that died while starting the agent. */
const STALE_LOCK_MS = 15_000;

/** An agent that accepts and never answers the greeting (stopped, wedged) is given up on after this long. */
const HELLO_ANSWER_MS = Number(process.env.PSREMOTE_AGENT_HELLO_MS) || 10_000;

/** The promise's value, or undefined when it takes longer than `ms`; rejects with the signal's reason on abort. */
async function answeredWithin<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<undefined>((resolve, reject) => {
    timer = setTimeout(() => resolve(undefined), ms);
    if (!signal) return;
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** What answered did not prove it knows this user's agent token: nothing more is sent to it. */
function notMyAgent(where: string): PSRemotingError {
  return new PSRemotingError(
    `The process answering at ${where} is not this user's psremote agent: it did not prove it knows the agent's token. Nothing was sent to it.`,
    {
      errorId: 'AgentAccessDenied',
      category: 'SecurityError',
      targetObject: where,
      recommendedAction:
        'Find and end the process that listens there (another user may have created it first), or set PSREMOTE_AGENT_DIR to a private directory.',
    },
  );
}

function agentUnavailable(why: string): PSRemotingError {
  return new PSRemotingError(`The psremote session agent is not available: ${why}`, {
    errorId: 'AgentUnavailable',
    category: 'ConnectionError',
    recommendedAction: 'Run the command again; psremote starts the agent when it needs one.',
  });
}

/**
 * A connection to the user's session agent. Messages the agent sends unasked go to listeners (`state`, `exit`) or
 * are answered here (`ui`: a host call for this terminal); the rest are read in order with `next()`.
 */
export class AgentClient {
  private readonly queue: Message[] = [];
  private waiter: { resolve: (m: Message) => void; reject: (e: unknown) => void } | undefined;
  private closedWith: PSRemotingError | undefined;
  private readonly uiCalls = new Map<number, AbortController>();
  private readonly listeners = new Set<(m: Message) => void>();
  private readonly closeListeners = new Set<(e: PSRemotingError) => void>();
  /** Host calls of the agent's session are answered with this HostUi (the terminal's). */
  hostUi: HostUi | undefined;

  private readonly socket: Socket;
  private readonly read: (chunk: Buffer) => void;
  /** A host write found this terminal full (HostUi.drained): the socket is not read until it has drained. */
  private readonly hostBacklog = new HostBacklog();

  private constructor(socket: Socket) {
    this.socket = socket;
    this.read = readFrames(
      socket,
      MAX_AGENT_FRAME,
      (m) => this.onMessage(m),
      (why) => {
        this.fail(agentUnavailable(why));
        socket.destroy();
      },
    );
    socket.on('error', () => {});
    socket.on('close', () =>
      this.fail(
        agentUnavailable('the agent closed the connection (an agent that ends ends the sessions it held).'),
      ),
    );
  }

  /**
   * Connects to the agent, starting it first when `start` and none runs. Undefined when none runs and `start` is
   * false (nothing to list).
   */
  static async connect(
    env: Readonly<Record<string, string | undefined>>,
    options: { start: boolean; signal?: AbortSignal },
  ): Promise<AgentClient | undefined> {
    const { signal } = options;
    const paths = agentPaths(env);
    ensureAgentDirectory(paths);
    // An agent that was just ending (its grace period over) may close a connection it had accepted: try again,
    // and a new agent is started.
    let mute = false;
    for (let attempt = 1; ; attempt++) {
      let socket = await tryConnect(paths.socket);
      mark('socket connected');
      if (!socket) {
        if (!options.start) return undefined;
        socket = await startAgent(paths, env, signal);
      }
      const client = new AgentClient(socket);
      try {
        let token: string;
        try {
          token = readFileSync(paths.token, 'utf8');
        } catch (e) {
          socket.destroy();
          throw agentUnavailable(`its token ${paths.token} cannot be read (${(e as Error).message}).`);
        }
        const nonce = newNonce();
        const hello = await answeredWithin(
          client.request({ t: 'hello', nonce, proof: proofOf(token, 'client', nonce) }),
          HELLO_ANSWER_MS,
          signal,
        );
        if (hello === undefined) {
          mute = true;
          throw agentUnavailable(
            `it accepted the connection but did not answer within ${HELLO_ANSWER_MS / 1000} s (a stopped or wedged agent: end the process whose pid is in ${paths.pid}; psremote then starts a new one).`,
          );
        }
        if (hello.t !== 'hello') throw agentUnavailable('it did not answer the greeting.');
        if (!sameSecret(hello.proof, proofOf(token, 'agent', nonce))) {
          mute = true;
          throw notMyAgent(paths.socket);
        }
        return client;
      } catch (e) {
        socket.destroy();
        if (mute || signal?.aborted || attempt >= 3 || (e as PSRemotingError).errorId !== 'AgentUnavailable')
          throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  /**
   * A connection bin.js opened and wrote to before the CLI was loaded (fast-path.ts connectEarly), with what the
   * agent answered so far: read now, host calls answered with `hostUi`.
   */
  static adopt(socket: Socket, received: readonly Buffer[], hostUi: HostUi): AgentClient {
    const client = new AgentClient(socket);
    client.hostUi = hostUi;
    for (const chunk of received) client.read(chunk);
    return client;
  }

  send(m: Message): void {
    if (this.closedWith) throw this.closedWith;
    writeFrame(this.socket, m);
  }

  /** The next message in order; an `error` message rejects with its PSRemotingError. */
  next(): Promise<Message> {
    const m = this.queue.shift();
    this.flow();
    if (m) return m.t === 'error' ? Promise.reject(errorFromWire(m.error as WireError)) : Promise.resolve(m);
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.waiter = {
        resolve: (x) => (x.t === 'error' ? reject(errorFromWire(x.error as WireError)) : resolve(x)),
        reject,
      };
    });
  }

  /** Sends a request and reads its answer. */
  request(m: Message): Promise<Message> {
    this.send(m);
    return this.next();
  }

  /** Messages the agent sends unasked (`state`, `exit`). */
  onUnasked(listener: (m: Message) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: (e: PSRemotingError) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.socket.end();
  }

  private onMessage(m: Message): void {
    if (m.t === 'ui') {
      this.onHostCall(m);
      return;
    }
    if (m.t === 'uiCancel') {
      this.uiCalls.get(Number(m.id))?.abort();
      return;
    }
    if (m.t === 'state' || m.t === 'exit') {
      for (const l of this.listeners) l(m);
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve(m);
    } else {
      this.queue.push(m);
      this.flow();
    }
  }

  /**
   * Backpressure: the socket is read only while the messages nobody has taken yet are few and the terminal takes
   * what host writes write; otherwise the agent's writes wait (its socket fills), and so does its session.
   */
  private flow(): void {
    const hold = this.queue.length >= MAX_MESSAGES_AHEAD || this.hostBacklog.waiting;
    if (hold && !this.socket.isPaused()) this.socket.pause();
    else if (!hold && this.socket.isPaused() && this.queue.length < MAX_MESSAGES_AHEAD / 2)
      this.socket.resume();
  }

  private onHostCall(m: Message): void {
    const id = typeof m.id === 'number' ? m.id : undefined;
    const args = Array.isArray(m.args) ? m.args : [];
    const ui = this.hostUi;
    const abort = new AbortController();
    if (id !== undefined) this.uiCalls.set(id, abort);
    const answer = ui
      ? answerHostCall(ui, String(m.method), args, abort.signal)
      : Promise.reject(new Error('no host'));
    if (id === undefined) {
      answer.catch(() => {});
      if (ui && this.hostBacklog.hold(ui, () => this.flow())) this.flow();
      return;
    }
    answer.then(
      (value) => {
        this.uiCalls.delete(id);
        if (!this.closedWith) writeFrame(this.socket, { t: 'uiReply', id, ok: true, value: value ?? null });
      },
      (e: unknown) => {
        this.uiCalls.delete(id);
        if (!this.closedWith)
          writeFrame(this.socket, { t: 'uiReply', id, ok: false, error: { message: (e as Error)?.message } });
      },
    );
  }

  private fail(e: PSRemotingError): void {
    if (this.closedWith) return;
    this.closedWith = e;
    for (const c of this.uiCalls.values()) c.abort();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
    for (const l of this.closeListeners) l(e);
  }
}

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => resolve(undefined));
  });
}

/** The CLI's entry script (dist/bin.js), which runs the agent with `__agent`. */
function binPath(): string {
  const here = fileURLToPath(import.meta.url);
  // From dist/agent/client.js the bin is ../bin.js, from dist/run.bundle.cjs (this module inlined) ./bin.js; run
  // from the sources (tests), the built one.
  if (here.endsWith('.ts')) return fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
  return fileURLToPath(
    new URL(basename(dirname(here)) === 'agent' ? '../bin.js' : './bin.js', import.meta.url),
  );
}

/**
 * Starts the agent: a detached Node process of its own (its own process group, no terminal), so it outlives this
 * command. A lock file (created exclusively) makes sure two clients starting at once start one agent; the other
 * waits for the socket.
 */
async function startAgent(
  paths: AgentPaths,
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<Socket> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let locked = false;
  try {
    for (;;) {
      const s = await tryConnect(paths.socket);
      if (s) return s;
      if (!locked) {
        try {
          closeSync(openSync(paths.lock, 'wx', 0o600));
          locked = true;
          const child = spawn(process.execPath, [binPath(), '__agent'], {
            detached: true,
            stdio: 'ignore',
            cwd: homedir(),
            env: env as NodeJS.ProcessEnv,
          });
          child.unref();
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          try {
            if (Date.now() - statSync(paths.lock).mtimeMs > STALE_LOCK_MS)
              rmSync(paths.lock, { force: true });
          } catch {
            // Removed meanwhile.
          }
        }
      }
      if (Date.now() > deadline) throw agentUnavailable(`it did not start within ${START_TIMEOUT_MS} ms.`);
      await new Promise((r) => setTimeout(r, 25));
      // Ctrl+C: the agent spawned goes on starting and ends when idle; this client leaves now.
      signal?.throwIfAborted();
    }
  } finally {
    if (locked) rmSync(paths.lock, { force: true });
  }
}
