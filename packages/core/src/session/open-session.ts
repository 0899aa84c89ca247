import { isPSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import { type ResolvedSessionOptions, resolveSessionOptions } from '../parameters/session-option.ts';
import type { BoundParameters } from '../parameters/types.ts';
import {
  type Logger,
  silentLogger,
  type TransportConnection,
  type TransportPlugin,
  type TransportTarget,
} from '../transport/contract.ts';
import { guardPlugin } from '../transport/plugin-calls.ts';
import { PausableDeadline } from '../util/pausable-deadline.ts';
import { openCancelled, openTimeoutError } from './limits.ts';
import { asRemotingError, PSSession } from './session.ts';
import { defaultSessionTable, type SessionTable } from './session-table.ts';

export interface OpenSessionOptions {
  readonly transport: TransportPlugin;
  /** The bound Enter-PSSession parameters (from the binder), or a target the transport already resolved. */
  readonly bound?: BoundParameters;
  readonly target?: TransportTarget;
  readonly hostUi: HostUi;
  /** Cancels opening (Ctrl+C while connecting). Not used after the session is open. */
  readonly signal?: AbortSignal;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: Logger;
  readonly name?: string;
  readonly table?: SessionTable;
  /**
   * Timeouts and receive limits (PSSessionOption). Default: resolved from the bound -SessionOption, else
   * DEFAULT_SESSION_OPTIONS. Lent to the transport (TransportContext.options) and applied to the runspace pool.
   */
  readonly sessionOptions?: ResolvedSessionOptions;
  /** Overrides sessionOptions.openTimeoutMs: the bound on the whole open (transport connect and pool open). */
  readonly openTimeoutMs?: number;
}

/**
 * Opens a session: resolves the target, connects the transport, opens the runspace pool. The library's entry
 * point; the CLI's `psremote enter` is built on it.
 */
export async function openSession(options: OpenSessionOptions): Promise<PSSession> {
  const env = options.env ?? process.env;
  const log = options.log ?? silentLogger;
  // Every plugin call fails with a PSRemotingError that names the transport and the operation.
  const transport = guardPlugin(options.transport);
  const target =
    options.target ??
    transport.resolveTarget(options.bound ?? { parameterSet: 'ComputerName', bound: {} }, env);
  const resolved = options.sessionOptions ?? resolveSessionOptions(options.bound?.bound.SessionOption);
  const sessionOptions: ResolvedSessionOptions =
    options.openTimeoutMs === undefined ? resolved : { ...resolved, openTimeoutMs: options.openTimeoutMs };
  const table = options.table ?? defaultSessionTable;
  const { id, name } = table.allocate(options.name);
  // OpenTimeout bounds the whole open, transport connect and pool open, for every transport; its clock stops
  // while the user is asked something (a password, a host key).
  const deadline = new PausableDeadline(sessionOptions.openTimeoutMs, () =>
    openTimeoutError(target.computerName, sessionOptions.openTimeoutMs),
  );
  // The connect phase gets its own signal: aborting it after the session is open must not kill the session.
  const connectAbort = new AbortController();
  const onOuterAbort = () => connectAbort.abort(openCancelled(options.signal?.reason));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  deadline.expired.catch((e: unknown) => connectAbort.abort(e));
  const stopped = new Promise<never>((_, reject) => {
    const onAbort = () => reject(connectAbort.signal.reason);
    if (connectAbort.signal.aborted) onAbort();
    else connectAbort.signal.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => {});
  try {
    let conn: TransportConnection;
    const connecting = transport.connect(target, {
      hostUi: pausingHostUi(options.hostUi, deadline),
      signal: connectAbort.signal,
      log,
      env,
      options: sessionOptions,
    });
    try {
      // A transport that does not honour its signal at once still cannot hold the open past the deadline.
      conn = await Promise.race([connecting, stopped]);
    } catch (e) {
      // A connection that arrives after the timeout or Ctrl+C is closed, not leaked.
      connecting.then((late) => late.close().catch(() => {})).catch(() => {});
      throw connectAbort.signal.aborted && isPSRemotingError(connectAbort.signal.reason)
        ? connectAbort.signal.reason
        : asRemotingError(e, target.computerName);
    }
    const session = new PSSession({
      id,
      name,
      target,
      transportName: transport.name,
      hostUi: options.hostUi,
      openingHostUi: pausingHostUi(options.hostUi, deadline),
      conn,
      log,
      table,
      options: sessionOptions,
    });
    // The pool open waits for the same deadline; Ctrl+C reaches it through connectAbort (and the transport's
    // own copy of that signal fails the connection).
    await session.start(stopped);
    return session;
  } finally {
    deadline.clear();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** The HostUi lent while opening: the OpenTimeout clock stops while a prompt waits for the user. */
function pausingHostUi(hostUi: HostUi, deadline: PausableDeadline): HostUi {
  const PROMPTS = new Set([
    'readLine',
    'readLineAsSecureString',
    'prompt',
    'promptForCredential',
    'promptForChoice',
    'promptForChoiceMultiple',
  ]);
  return new Proxy(hostUi, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (typeof key !== 'string' || !PROMPTS.has(key) || typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        deadline.pause();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
        } finally {
          deadline.resume();
        }
      };
    },
  });
}
