import { type Socket, connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { isPSRemotingError, type PSRemotingError, type TransportContext } from '@psremote/core';
// ssh2 is CommonJS: Node's ESM loader gives only its default export, so take members from it.
import ssh2, { type ClientChannel, type Client as SshClient } from 'ssh2';

const { Client } = ssh2;
type Client = SshClient;

import { createAuthHandler, KeyFileError } from './auth-handler.ts';
import { Deadline } from './deadline.ts';
import { sshError } from './errors.ts';
import { hostKeyNames, verifyHostKey } from './host-key-verifier.ts';
import { knownKeyTypes } from './known-hosts.ts';
import type { SshTarget } from './ssh-target.ts';

/** Milliseconds from the start of `openSshChannel`, for logs and benchmarks. */
export interface SshTimings {
  tcpMs: number;
  /** Key exchange, host key check and authentication done (ssh2 'ready'). */
  readyMs: number;
  /** The subsystem channel is open. */
  channelMs: number;
}

export interface SshChannel {
  readonly client: Client;
  readonly channel: ClientChannel;
  /** Every client of the route, jump hosts first; end them all to disconnect. */
  readonly clients: readonly Client[];
  readonly timings: SshTimings;
  readonly description: string;
}

/**
 * Where ssh(1) finds the agent: SSH_AUTH_SOCK; on Windows, without it, the OpenSSH agent service's named pipe.
 */
export function defaultAgentSocket(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (env.SSH_AUTH_SOCK) return env.SSH_AUTH_SOCK;
  return platform === 'win32' ? '\\\\.\\pipe\\openssh-ssh-agent' : undefined;
}

/** Resolves a ProxyJump hop (`[user@]host[:port]`) to a target, with the same configuration rules. */
export type HopResolver = (hop: string) => SshTarget;

// The host key algorithms ssh2 1.17 implements, in its default order.
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** OpenSSH's order_hostkeyalgs: algorithms of keys already in known_hosts first, so the known key is proved. */
function hostKeyOrder(target: SshTarget): HostKeyAlgorithm[] {
  const known = knownKeyTypes(
    [...target.userKnownHostsFiles, ...target.globalKnownHostsFiles],
    hostKeyNames(target),
  );
  const algsOf = (type: string): HostKeyAlgorithm[] =>
    type === 'ssh-rsa'
      ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
      : HOST_KEY_ALGORITHMS.filter((a) => a === type);
  const first = known.flatMap(algsOf);
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

function timeoutError(
  target: SshTarget,
  ms: number,
  phase: string,
  what: 'ConnectingTimeout' | 'ConnectTimeout',
): PSRemotingError {
  // OutOfProcTransportManager: "SSH connection attempt failed after time out: {0} seconds."
  return sshError(
    'SshConnectionTimeout',
    'OperationTimeout',
    `SSH connection attempt failed after time out: ${ms / 1000} seconds (${what}, while ${phase} ${target.displayName}).`,
    {
      targetObject: target.displayName,
      recommendedAction: `Check that ${target.hostName} port ${target.port} is an SSH server that answers, or raise -ConnectingTimeout / -Options @{ConnectTimeout=...}.`,
    },
  );
}

function socketError(target: SshTarget, e: NodeJS.ErrnoException): PSRemotingError {
  const where = `${target.hostName} port ${target.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return sshError(
        'SshConnectionRefused',
        'ConnectionError',
        `ssh: connect to host ${where}: Connection refused.`,
        {
          targetObject: target.displayName,
          recommendedAction: `Check that sshd runs on ${where} (-Port, or Port in ~/.ssh/config) and that no firewall rejects it.`,
          cause: e,
        },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return sshError(
        'SshHostNotFound',
        'ObjectNotFound',
        `ssh: Could not resolve hostname ${target.hostName}: ${e.code === 'EAI_AGAIN' ? 'temporary failure in name resolution' : 'name or service not known'}.`,
        {
          targetObject: target.hostName,
          recommendedAction: 'Check the spelling of -HostName, the HostName in ~/.ssh/config, and your DNS.',
          cause: e,
        },
      );
    case 'ETIMEDOUT':
      return sshError(
        'SshConnectionTimeout',
        'OperationTimeout',
        `ssh: connect to host ${where}: Connection timed out.`,
        { targetObject: target.displayName, cause: e },
      );
    default:
      return sshError(
        'SshHostUnreachable',
        'ConnectionError',
        `ssh: connect to host ${where}: ${e.message}.`,
        {
          targetObject: target.displayName,
          recommendedAction:
            'Check the host name, the network route and any firewall between you and the server.',
          cause: e,
        },
      );
  }
}

function tcpOpen(target: SshTarget, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: target.hostName, port: target.port });
    sock.setNoDelay(true);
    const cleanup = () => {
      sock.off('connect', onConnect);
      sock.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onConnect = () => {
      cleanup();
      resolve(sock);
    };
    const onError = (e: NodeJS.ErrnoException) => {
      cleanup();
      sock.destroy();
      reject(socketError(target, e));
    };
    const onAbort = () => {
      cleanup();
      sock.destroy();
      reject(signal.reason);
    };
    sock.once('connect', onConnect);
    sock.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Opens one authenticated SSH connection to `target`, over `sock` (a jump host's forwarded channel) or TCP. */
async function openClient(
  target: SshTarget,
  ctx: TransportContext,
  signal: AbortSignal,
  deadline: Deadline,
  serverAnswered: () => void,
  via: Duplex | undefined,
  t0: number,
  timings: SshTimings,
): Promise<Client> {
  const sock: Duplex = via ?? (await tcpOpen(target, signal));
  if (!via) timings.tcpMs = performance.now() - t0;
  signal.throwIfAborted();
  const client = new Client();
  let hostKeyError: PSRemotingError | undefined;
  let disablePasswords = false;
  const auth = createAuthHandler(target, ctx, {
    agentSocket: defaultAgentSocket(ctx.env),
    disablePasswords: () => disablePasswords,
    deadline,
  });
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown | undefined) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(client);
        return;
      }
      client.end();
      sock.destroy();
      reject(err);
    };
    const onAbort = () => finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });

    client.on('banner', (message: string) => {
      // sshd's Banner: ssh prints it on stderr, and pwsh copies each non-empty line of ssh's stderr to its console
      // as it is, no `WARNING: ` (SSHClientSessionTransportManager.ProcessErrorThread: Console.WriteLine).
      for (const line of message.replace(/\r/g, '').split('\n')) if (line !== '') ctx.hostUi.writeLine(line);
    });
    client.on('ready', () => {
      timings.readyMs = performance.now() - t0;
      finish(undefined);
    });
    client.on('error', (e: Error & { level?: string; code?: string }) => {
      if (settled) {
        ctx.log.debug(`ssh ${target.displayName}: ${e.message}`);
        return;
      }
      if (e.level === 'agent') {
        // An unusable agent (or an encrypted key left locked) is not fatal: ssh2 goes on with the next method.
        if (!(e instanceof KeyFileError))
          auth.report.notes.push(`the ssh-agent could not be used: ${e.message}`);
        return;
      }
      if (hostKeyError) return finish(hostKeyError);
      if (e.level === 'client-authentication') {
        const methods = auth.report.serverMethods.join(',') || 'none';
        const detail = auth.report.notes.length ? ` What was tried: ${auth.report.notes.join('; ')}.` : '';
        return finish(
          sshError(
            'SshAuthenticationFailed',
            'AuthenticationError',
            `${target.user}@${target.displayName}: Permission denied (${methods}).${detail}`,
            {
              targetObject: `${target.user}@${target.displayName}`,
              recommendedAction:
                'Check -UserName, give the right key with -KeyFilePath (or load it into ssh-agent), or run interactively to type a password.',
              cause: e,
            },
          ),
        );
      }
      if (e.level === 'client-socket' && e.code)
        return finish(socketError(target, e as NodeJS.ErrnoException));
      return finish(
        sshError(
          'SshHandshakeFailed',
          'ProtocolError',
          `The SSH connection to ${target.displayName} failed: ${e.message}.`,
          {
            targetObject: target.displayName,
            recommendedAction:
              'Check that the port is an SSH server, and that it offers algorithms ssh2 supports (ssh -vv shows them).',
            cause: e,
          },
        ),
      );
    });
    client.on('close', () =>
      finish(
        hostKeyError ??
          sshError(
            'SshConnectionLost',
            'ConnectionError',
            `The SSH server at ${target.displayName} closed the connection during the handshake.`,
            {
              targetObject: target.displayName,
              recommendedAction:
                'Look at the server log (journalctl -u ssh); MaxStartups, AllowUsers or a TCP wrapper may refuse you.',
            },
          ),
      ),
    );

    client.connect({
      sock: sock as unknown as Socket,
      username: target.user,
      // Our own timers (ConnectTimeout, -ConnectingTimeout) bound the handshake, paused while the user answers.
      readyTimeout: 0,
      keepaliveInterval: target.serverAliveIntervalMs,
      keepaliveCountMax: target.serverAliveCountMax,
      algorithms: { serverHostKey: hostKeyOrder(target) },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        // The server got through key exchange: ConnectTimeout no longer applies (it must not cut a question).
        serverAnswered();
        verifyHostKey(target, key, ctx, deadline).then(
          (d) => {
            if (!d.accepted) hostKeyError = d.error;
            if (d.disablePasswords) disablePasswords = true;
            verify(d.accepted);
          },
          (e: unknown) => {
            hostKeyError = isPSRemotingError(e)
              ? e
              : sshError(
                  'SshHandshakeFailed',
                  'SecurityError',
                  `Checking the host key failed: ${(e as Error).message}`,
                  { cause: e },
                );
            verify(false);
          },
        );
      },
      authHandler: auth.handler,
    });
  });
}

function forward(client: Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/**
 * Connects (through ProxyJump hops when configured), authenticates and opens the subsystem channel. The whole
 * thing is bounded by -ConnectingTimeout (paused while the user answers prompts) and by ConnectTimeout until
 * the server's first answer; aborting `ctx.signal` tears it down.
 */
export async function openSshChannel(
  target: SshTarget,
  ctx: TransportContext,
  resolveHop: HopResolver,
): Promise<SshChannel & { deadline: Deadline }> {
  const t0 = performance.now();
  const timings: SshTimings = { tcpMs: 0, readyMs: 0, channelMs: 0 };
  const inner = new AbortController();
  let timeout: PSRemotingError | undefined;
  const expire = (e: PSRemotingError) => {
    timeout ??= e;
    inner.abort(e);
  };
  const deadline = new Deadline(target.connectingTimeoutMs, () =>
    expire(timeoutError(target, target.connectingTimeoutMs ?? 0, 'connecting to', 'ConnectingTimeout')),
  );
  const connectDeadline = new Deadline(target.connectTimeoutMs, () =>
    expire(
      timeoutError(target, target.connectTimeoutMs ?? 0, 'waiting for the SSH server at', 'ConnectTimeout'),
    ),
  );
  const onOuterAbort = () =>
    inner.abort(
      sshError('OperationStopped', 'OperationStopped', `Connecting to ${target.displayName} was cancelled.`, {
        cause: ctx.signal.reason,
      }),
    );
  if (ctx.signal.aborted) onOuterAbort();
  else ctx.signal.addEventListener('abort', onOuterAbort, { once: true });

  const clients: Client[] = [];
  try {
    const hops = target.proxyJump
      ? target.proxyJump
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean)
      : [];
    const route = [...hops.map(resolveHop), target];
    let via: Duplex | undefined;
    for (let i = 0; i < route.length; i++) {
      const hop = route[i] as SshTarget;
      const client = await openClient(
        hop,
        ctx,
        inner.signal,
        deadline,
        () => connectDeadline.clear(),
        via,
        t0,
        timings,
      );
      clients.push(client);
      connectDeadline.clear();
      const nextHop = route[i + 1];
      if (nextHop) via = await forward(client, nextHop.hostName, nextHop.port);
    }
    const client = clients[clients.length - 1] as Client;
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      const onAbort = () => reject(inner.signal.reason);
      inner.signal.addEventListener('abort', onAbort, { once: true });
      client.subsys(target.subsystem, (err, ch) => {
        inner.signal.removeEventListener('abort', onAbort);
        if (err) {
          reject(
            sshError(
              'SshSubsystemUnavailable',
              'OpenError',
              `The SSH server at ${target.displayName} refused to start the '${target.subsystem}' subsystem (${err.message}).`,
              {
                targetObject: target.subsystem,
                recommendedAction: `On the server, add 'Subsystem ${target.subsystem} /usr/bin/pwsh -sshs -NoLogo' (Windows: c:/progra~1/powershell/7/pwsh.exe -sshs) to sshd_config and restart sshd; or name an existing subsystem with -Subsystem.`,
                cause: err,
              },
            ),
          );
        } else resolve(ch);
      });
    });
    inner.signal.throwIfAborted();
    timings.channelMs = performance.now() - t0;
    ctx.log.debug(
      `ssh ${target.user}@${target.displayName}: tcp ${timings.tcpMs.toFixed(1)} ms, handshake+auth ${timings.readyMs.toFixed(1)} ms, subsystem ${timings.channelMs.toFixed(1)} ms`,
    );
    return {
      client,
      channel,
      clients,
      timings,
      deadline,
      description: `ssh ${target.user}@${target.displayName} (${target.subsystem})`,
    };
  } catch (e) {
    for (const c of clients.reverse()) c.end();
    deadline.clear();
    throw timeout ?? (inner.signal.aborted ? inner.signal.reason : e);
  } finally {
    connectDeadline.clear();
    ctx.signal.removeEventListener('abort', onOuterAbort);
  }
}
