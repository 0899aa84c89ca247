import { spawn } from 'node:child_process';
import {
  type BoundParameters,
  createOutOfProcConnection,
  type OutOfProcStream,
  PSRemotingError,
  type TransportConnection,
  type TransportContext,
  type TransportPlugin,
  type TransportTarget,
} from '@psremote/core';
import { childEnvironment } from './child-environment.ts';
import { findPwsh } from './find-pwsh.ts';

export interface ProcessTarget extends TransportTarget {
  readonly pwshPath?: string;
  readonly arguments: readonly string[];
}

export interface ProcessTransportOptions {
  /** Path of pwsh; default: PSREMOTE_PWSH, PATH, then ~/.dotnet/tools. */
  readonly pwshPath?: string;
  /** Working directory of the server process. */
  readonly cwd?: string;
  /**
   * The server process's environment, exactly. Default: the session's environment as PowerShell would pass
   * it, without what belongs to psremote and to what started it (childEnvironment).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The local session: `pwsh -s -NoLogo -NoProfile` as a child process speaking OutOfProc on stdio, as
 * PowerShell's own PowerShellProcessInstance starts it. It is what `psremote enter` with no target opens
 * (Enter-PSSession's Example 1), and the embedded default for library users.
 */
export function createProcessTransport(
  options: ProcessTransportOptions = {},
): TransportPlugin<ProcessTarget> {
  return {
    name: 'process',
    apiRange: '^2.0.0',
    // No Enter-PSSession parameter set names a local child process; the CLI chooses this transport when
    // no target is given, and library users pass it explicitly.
    parameterSets: [],
    resolveTarget(_bound: BoundParameters): ProcessTarget {
      return {
        computerName: 'localhost',
        prompt: { kind: 'prefix', text: '[localhost]: ' },
        ...(options.pwshPath ? { pwshPath: options.pwshPath } : {}),
        arguments: ['-s', '-NoLogo', '-NoProfile'],
      };
    },
    async connect(t: ProcessTarget, ctx: TransportContext): Promise<TransportConnection> {
      const exe = findPwsh(ctx.env, t.pwshPath);
      ctx.signal.throwIfAborted();
      const child = spawn(exe, [...t.arguments], {
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: options.cwd,
        env: (options.env ?? childEnvironment(ctx.env)) as NodeJS.ProcessEnv,
        // The terminal's Ctrl+C must reach psremote only; the stop travels as a PSRP Signal
        // (protocols.md 2.4: PowerShell shields its ssh child the same way).
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) =>
          reject(
            new PSRemotingError(`PowerShell could not be started from '${exe}': ${e.message}`, {
              errorId: 'PowerShellNotFound',
              category: 'OpenError',
              targetObject: exe,
              cause: e,
            }),
          ),
        );
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The server may be a grandchild: the .NET global tool's `pwsh` is a launcher running `dotnet pwsh.dll` as
      // its child, which holds the same stdout. The server is gone when the child has exited and its stdout is
      // closed (no process holds it any more).
      const stdoutClosed = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
      const serverGone = Promise.all([exited, stdoutClosed]);
      /**
       * Signals the child's process group on POSIX (its own, from `detached`: the launcher and the server it
       * started), the child alone on Windows.
       */
      const kill = (signal: NodeJS.Signals): void => {
        try {
          if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          // Already gone (ESRCH).
        }
      };
      const stream: OutOfProcStream = {
        input: child.stdout,
        output: child.stdin,
        errors: child.stderr,
        description: `pwsh process ${child.pid}`,
        async dispose() {
          child.stdin.end();
          // pwsh ends by itself once its stdin is closed (after the session's Close): a moment for that.
          if (await within(serverGone, 1000)) return;
          kill('SIGTERM');
          if (await within(serverGone, 2000)) return;
          kill('SIGKILL');
          await exited;
        },
      };
      // The child's pipes keep Node alive only while the session is open.
      return createOutOfProcConnection(stream, {
        log: ctx.log,
        signal: ctx.signal,
        // PSSessionOption.CancelTimeout bounds the stop and close acknowledgements.
        ackTimeoutMs: ctx.options.cancelTimeoutMs,
        // MaximumReceivedObjectSize also bounds one OutOfProc line (a fragment that trickles in).
        maxReceivedObjectSize: ctx.options.maximumReceivedObjectSize,
        abruptEndErrorId: 'PSRemotingTransportAbruptlyTerminated',
      });
    },
  };
}

/** The default instance: pwsh from PSREMOTE_PWSH, PATH or ~/.dotnet/tools. */
export const processTransport: TransportPlugin<ProcessTarget> = createProcessTransport();

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
