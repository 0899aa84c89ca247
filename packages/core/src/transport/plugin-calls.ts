import type { ErrorCategory } from '../errors/error-category.ts';
import { isPSRemotingError, PSRemotingError } from '../errors/ps-remoting-error.ts';
import type {
  OpenRequest,
  PsrpPayload,
  TransportConnection,
  TransportContext,
  TransportPlugin,
  TransportTarget,
} from './contract.ts';

/** The plugin calls the kernel makes, as named in a TransportPluginFailed message. */
export type PluginOperation =
  | 'resolveTarget'
  | 'connect'
  | keyof Omit<TransportConnection, 'maxFragmentSize' | 'maxPayloadSize'>;

/**
 * A plugin's own failure as the kernel reports it: a PSRemotingError passes through unchanged (the plugin chose
 * its id); anything else (a TypeError, a socket error the plugin did not map) becomes TransportPluginFailed,
 * naming the transport and the operation, with the original as cause.
 */
export function pluginError(
  transportName: string,
  operation: PluginOperation,
  e: unknown,
  targetObject?: string,
): PSRemotingError {
  if (isPSRemotingError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  // Before the session is open a failure is an open failure; after, the connection's.
  const category: ErrorCategory =
    operation === 'resolveTarget' || operation === 'connect' || operation === 'open'
      ? 'OpenError'
      : 'ConnectionError';
  return new PSRemotingError(`The transport '${transportName}' failed in ${operation}: ${message}`, {
    errorId: 'TransportPluginFailed',
    category,
    ...(targetObject === undefined ? {} : { targetObject }),
    cause: e,
  });
}

/**
 * The plugin as the kernel calls it: every call's failure keeps the transport's name and the operation
 * (`pluginError`), and so does every call on the connection `connect` gives (`guardConnection`).
 */
export function guardPlugin<T extends TransportTarget>(plugin: TransportPlugin<T>): TransportPlugin<T> {
  const name = plugin.name;
  return {
    name,
    apiRange: plugin.apiRange,
    parameterSets: plugin.parameterSets,
    resolveTarget(bound, env) {
      try {
        return plugin.resolveTarget(bound, env);
      } catch (e) {
        throw pluginError(name, 'resolveTarget', e);
      }
    },
    async connect(target: T, ctx: TransportContext) {
      let conn: TransportConnection;
      try {
        conn = await plugin.connect(target, ctx);
      } catch (e) {
        throw pluginError(name, 'connect', e, target.computerName);
      }
      return guardConnection(name, conn, target.computerName);
    },
  };
}

/** A connection whose calls fail only with PSRemotingError: `pluginError` for anything else. */
export function guardConnection(
  transportName: string,
  conn: TransportConnection,
  computerName: string,
): TransportConnection {
  const wrap =
    (operation: PluginOperation) =>
    (e: unknown): never => {
      throw pluginError(transportName, operation, e, computerName);
    };
  const guarded: TransportConnection = {
    get maxFragmentSize() {
      return conn.maxFragmentSize;
    },
    get maxPayloadSize() {
      return conn.maxPayloadSize;
    },
    open: (request: OpenRequest) => call(() => conn.open(request)).catch(wrap('open')),
    send: (payload: PsrpPayload) => call(() => conn.send(payload)).catch(wrap('send')),
    createPipeline: (pipelineId: string, first: PsrpPayload) =>
      call(() => conn.createPipeline(pipelineId, first)).catch(wrap('createPipeline')),
    stopPipeline: (pipelineId: string) =>
      call(() => conn.stopPipeline(pipelineId)).catch(wrap('stopPipeline')),
    closePipeline: (pipelineId: string) =>
      call(() => conn.closePipeline(pipelineId)).catch(wrap('closePipeline')),
    close: () => call(() => conn.close()).catch(wrap('close')),
    receive: () => guardIterable(conn.receive(), wrap('receive')),
  };
  const abort = conn.abort;
  if (!abort) return guarded;
  return {
    ...guarded,
    abort(reason: PSRemotingError) {
      try {
        abort.call(conn, reason);
      } catch (e) {
        wrap('abort')(e);
      }
    },
  };
}

/** A call that may throw before it returns its promise: the throw becomes a rejection. */
function call<R>(f: () => Promise<R>): Promise<R> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The iteration's failures through `onError`; each step is the plugin's own (no extra buffering). */
function guardIterable<V>(source: AsyncIterable<V>, onError: (e: unknown) => never): AsyncIterable<V> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<V> {
      let it: AsyncIterator<V>;
      try {
        it = source[Symbol.asyncIterator]();
      } catch (e) {
        onError(e);
      }
      const end = it.return;
      return {
        next: () => call(() => it.next()).catch(onError),
        return: (value?: unknown) =>
          end
            ? call(() => end.call(it, value)).catch(onError)
            : Promise.resolve({ done: true, value: undefined }),
      };
    },
  };
}
