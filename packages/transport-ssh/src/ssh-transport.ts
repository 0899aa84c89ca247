import { PassThrough } from 'node:stream';
import {
  type BoundParameters,
  createOutOfProcConnection,
  type OutOfProcStream,
  type TransportConnection,
  type TransportContext,
  type TransportPlugin,
  TransportPluginToken,
} from '@psremote/core';
import { type ResolveOptions, resolveSshTarget } from './resolve-target.ts';
import { openSshChannel } from './ssh-connect.ts';
import type { SshTarget } from './ssh-target.ts';

export type SshTransportOptions = ResolveOptions;

/** `pwsh -sshs` writes its fatal errors on stdout with this prefix (protocols.md 3.1, ConsoleHost.cs). */
export const SSH_SERVER_ERROR_PREFIX = '__NamedPipeError__:';

/**
 * Whether `t` came from this plugin's resolveTarget: the type says so, but a JavaScript caller (or openSession's
 * `target` option) can hand any target.
 */
function resolvedBySsh(t: SshTarget): boolean {
  return typeof t.hostName === 'string' && typeof t.port === 'number' && typeof t.subsystem === 'string';
}

/**
 * The SSHHost parameter set: PowerShell over SSH in-process with ssh2, the user's OpenSSH configuration, keys,
 * agent and known_hosts, and the `powershell` subsystem (`pwsh -sshs`) speaking OutOfProc packets.
 */
export function createSshTransport(options: SshTransportOptions = {}): TransportPlugin<SshTarget> {
  return {
    name: 'ssh',
    apiRange: '^2.0.0',
    parameterSets: ['SSHHost'],
    resolveTarget(bound: BoundParameters, env: Readonly<Record<string, string | undefined>>): SshTarget {
      return resolveSshTarget(bound, env ?? process.env, options);
    },
    async connect(target: SshTarget, ctx: TransportContext): Promise<TransportConnection> {
      if (!resolvedBySsh(target))
        throw new TypeError('The ssh transport was given a target it did not resolve.');
      for (const key of target.ignoredOptions)
        ctx.hostUi.writeWarningLine(`The SSH option '${key}' is not supported by psremote and is ignored.`);
      const resolveHop = (hop: string): SshTarget => ({
        ...resolveSshTarget({ parameterSet: 'SSHHost', bound: { HostName: hop } }, ctx.env, options),
        proxyJump: undefined,
      });
      const opened = await openSshChannel(target, ctx, resolveHop);
      const { channel, clients, deadline } = opened;
      const remaining = deadline.remaining();
      deadline.clear();
      const last = clients[clients.length - 1];
      // A connection that dies under the channel (server killed, network gone, keepalive expired) must end the
      // channel at once, so the session turns Broken (issue 5: within 1 s).
      last?.on('close', () => channel.destroy());
      last?.on('error', (e: Error) => {
        ctx.log.debug(`${opened.description}: ${e.message}`);
        channel.destroy();
      });
      // The channel's stdout and stderr are two streams: their 'end' and 'data' events are not ordered. The
      // session input ends only once the channel is closed, so the server's last words (a subsystem that failed
      // to start writes "No such file or directory" on stderr) are in the error before the connection fails.
      const input = new PassThrough();
      const errors = new PassThrough();
      channel.pipe(input, { end: false });
      channel.stderr.pipe(errors, { end: false });
      channel.on('exit', (code: number | null, signal?: string) => {
        if (code === 0) return;
        // sshd starts the subsystem through the user's shell: 127 is its "command not found".
        const hint =
          code === 127
            ? `: the program of the '${target.subsystem}' subsystem was not found on the server; check its path in sshd_config`
            : '';
        errors.write(
          `\n[the remote subsystem exited with ${signal ? `signal ${signal}` : `status ${code}`}${hint}]\n`,
        );
      });
      channel.on('close', () =>
        setImmediate(() => {
          errors.end();
          input.end();
        }),
      );
      let disposed: Promise<void> | undefined;
      const stream: OutOfProcStream = {
        input,
        output: channel,
        errors,
        errorLinePrefix: SSH_SERVER_ERROR_PREFIX,
        description: opened.description,
        dispose() {
          disposed ??= new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              for (const c of clients) c.destroy();
              resolve();
            }, 2000);
            timer.unref?.();
            last?.once('close', () => {
              clearTimeout(timer);
              for (const c of clients) c.end();
              resolve();
            });
            channel.end();
            for (const c of [...clients].reverse()) c.end();
          });
          return disposed;
        },
      };
      return createOutOfProcConnection(stream, {
        log: ctx.log,
        signal: ctx.signal,
        // PSSessionOption.CancelTimeout bounds the stop and close acknowledgements.
        ackTimeoutMs: ctx.options.cancelTimeoutMs,
        // MaximumReceivedObjectSize also bounds one OutOfProc line (a fragment that trickles in).
        maxReceivedObjectSize: ctx.options.maximumReceivedObjectSize,
        ...(remaining !== undefined
          ? {
              connectingTimeoutMs: Math.max(1, remaining),
              connectingTimeoutError: {
                errorId: 'SshConnectionTimeout',
                message: `SSH connection attempt failed after time out: ${(target.connectingTimeoutMs ?? 0) / 1000} seconds (no answer from PowerShell on ${opened.description}).`,
              },
            }
          : {}),
        abruptEndErrorId: 'SSHAbruptlyTerminated',
      });
    },
  };
}

/** The SSHHost transport with the user's ~/.ssh/config and /etc/ssh/ssh_config. */
export const sshTransport: TransportPlugin<SshTarget> = createSshTransport();

/** The part of a tsyringe DependencyContainer that `register` uses (psremote never imports tsyringe at runtime). */
export interface TransportContainer {
  register(token: symbol, provider: { useValue: TransportPlugin }): unknown;
}

/** Registers the SSHHost transport: `container.register(TransportPluginToken, { useValue: sshTransport })`. */
export function register(container: TransportContainer): void {
  container.register(TransportPluginToken, { useValue: sshTransport });
}
