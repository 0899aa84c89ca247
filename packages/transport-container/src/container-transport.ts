import {
  type BoundParameters,
  containerPromptLabel,
  createOutOfProcConnection,
  type OutOfProcStream,
  PSRemotingError,
  type TransportConnection,
  type TransportContext,
  type TransportPlugin,
  TransportPluginToken,
  type TransportTarget,
} from '@psremote/core';
import { ExecDemuxer } from './demux.ts';
import { type EngineEndpoint, resolveEndpoint } from './endpoint.ts';
import { EngineClient } from './engine-api.ts';

export interface ContainerTarget extends TransportTarget {
  readonly containerId: string;
  readonly runAsAdministrator: boolean;
  readonly configurationName: string | undefined;
  readonly endpoint: EngineEndpoint;
}

interface ContainerInspect {
  Id: string;
  Name?: string;
  State?: { Running?: boolean; Paused?: boolean; Status?: string };
  Platform?: string;
  Config?: { User?: string };
}

const NO_PWSH =
  /executable file not found|no such file or directory|not found in \$PATH|exit status 127|OCI runtime/i;

function invalidContainer(id: string, why: string): PSRemotingError {
  // PowerShell's id for a ContainerId it cannot use (RunspaceConnectionInfo.cs, InvalidContainerId).
  return new PSRemotingError(`The input ContainerId ${id} ${why}`, {
    errorId: 'InvalidContainerId',
    category: 'InvalidArgument',
    targetObject: id,
    recommendedAction:
      'Check the id or name with `docker ps` (or `podman ps`) and start the container if it is stopped.',
  });
}

/** The ContainerId parameter set over the Docker Engine API (Docker, Docker Desktop, podman's service). */
export function createContainerTransport(): TransportPlugin<ContainerTarget> {
  return {
    name: 'container',
    apiRange: '^2.0.0',
    parameterSets: ['ContainerId'],
    resolveTarget(bound: BoundParameters, env): ContainerTarget {
      const id = String(bound.bound.ContainerId ?? '');
      if (!id) throw invalidContainer(id, 'is empty.');
      const cfg = bound.bound.ConfigurationName;
      return {
        computerName: id,
        prompt: { kind: 'remote-function', label: containerPromptLabel(id) },
        containerId: id,
        runAsAdministrator: bound.bound.RunAsAdministrator === true,
        configurationName: typeof cfg === 'string' && cfg ? cfg : undefined,
        endpoint: resolveEndpoint(env),
      };
    },
    async connect(t: ContainerTarget, ctx: TransportContext): Promise<TransportConnection> {
      const api = new EngineClient(t.endpoint);
      try {
        await api.negotiate(ctx.signal);
        // The engine resolves a full id, a unique id prefix or a name, as `docker exec` does.
        const info = await api.json<ContainerInspect>(
          'GET',
          `/containers/${encodeURIComponent(t.containerId)}/json`,
          ctx.signal,
        );
        if (info.status === 404) throw invalidContainer(t.containerId, 'does not exist.');
        if (info.status >= 400) {
          const msg = (info.body as { message?: string } | undefined)?.message ?? info.text;
          if (/multiple|ambiguous/i.test(msg))
            throw invalidContainer(
              t.containerId,
              `matches more than one container (${msg.trim()}). Give more of the id, or the name.`,
            );
          throw invalidContainer(t.containerId, `cannot be used: ${msg.trim()}`);
        }
        const c = info.body;
        if (!c.State?.Running)
          throw invalidContainer(
            t.containerId,
            `is not running (state: ${c.State?.Status ?? 'unknown'}). Start it first.`,
          );
        if (c.State?.Paused) throw invalidContainer(t.containerId, 'is paused. Unpause it first.');
        const version = await api.json<{ Os?: string }>('GET', '/version', ctx.signal);
        const windows = /windows/i.test(c.Platform ?? version.body?.Os ?? '');
        const user = t.runAsAdministrator
          ? windows
            ? 'ContainerAdministrator'
            : 'root'
          : windows
            ? 'ContainerUser'
            : '';
        const exes = windows ? ['pwsh.exe', 'powershell.exe'] : ['pwsh'];
        let lastError: unknown;
        for (const exe of exes) {
          try {
            return await startPowerShell(api, c.Id, exe, user, t, ctx);
          } catch (e) {
            lastError = e;
            if (!(e instanceof PSRemotingError && e.errorId === 'ContainerPowerShellNotFound')) throw e;
          }
        }
        throw lastError;
      } catch (e) {
        await api.close().catch(() => {});
        throw e;
      }
    },
  };
}

async function startPowerShell(
  api: EngineClient,
  containerId: string,
  exe: string,
  user: string,
  t: ContainerTarget,
  ctx: TransportContext,
): Promise<TransportConnection> {
  // -s, not -sshs: server errors then go to stderr, not into the packet stream (protocols.md 6.2).
  const cmd = [
    exe,
    '-NoLogo',
    '-NoProfile',
    ...(t.configurationName ? ['-ConfigurationName', t.configurationName] : []),
    '-s',
  ];
  const created = await api.json<{ Id: string; message?: string }>(
    'POST',
    `/containers/${encodeURIComponent(containerId)}/exec`,
    ctx.signal,
    {
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Cmd: cmd,
      ...(user ? { User: user } : {}),
    },
  );
  if (created.status >= 400 || !created.body?.Id) {
    const msg = created.body?.message ?? created.text;
    if (created.status === 409)
      throw invalidContainer(t.containerId, `is not running or is paused (${msg.trim()}).`);
    throw new PSRemotingError(
      `The container engine refused to start PowerShell in ${t.containerId}: ${msg.trim()}`,
      {
        errorId: 'CreateRemoteRunspaceForContainerFailed',
        category: 'OpenError',
        targetObject: t.containerId,
      },
    );
  }
  const execId = created.body.Id;
  const notFound = (why: string) =>
    new PSRemotingError(
      `PowerShell (${exe}) is not installed in the container ${t.containerId}${why ? `: ${why}` : ''}. Install PowerShell 7 in the image, or enter a container that has it.`,
      { errorId: 'ContainerPowerShellNotFound', category: 'NotInstalled', targetObject: t.containerId },
    );
  let hijacked: Awaited<ReturnType<EngineClient['startExec']>>;
  try {
    hijacked = await api.startExec(execId, ctx.signal);
  } catch (e) {
    const msg = (e as Error).message;
    if (NO_PWSH.test(msg)) throw notFound(msg.trim());
    throw new PSRemotingError(`Starting PowerShell in the container ${t.containerId} failed: ${msg}`, {
      errorId: 'CreateRemoteRunspaceForContainerFailed',
      category: 'OpenError',
      targetObject: t.containerId,
      cause: e,
    });
  }
  const { socket, head } = hijacked;
  const demux = new ExecDemuxer(socket, head);
  const exitCode = async (): Promise<number | undefined> => {
    for (let i = 0; i < 20; i++) {
      const r = await api
        .json<{ Running?: boolean; ExitCode?: number }>(
          'GET',
          `/exec/${execId}/json`,
          AbortSignal.timeout(2000),
        )
        .catch(() => undefined);
      if (r?.body && r.body.Running === false) return r.body.ExitCode;
      await new Promise((res) => setTimeout(res, 25));
    }
    return undefined;
  };
  const stream: OutOfProcStream = {
    input: demux.stdout,
    output: socket,
    errors: demux.stderr,
    description: `container ${t.containerId}`,
    async dispose() {
      // Half-close first (EOF on pwsh's stdin ends it), then let go of the socket.
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 2000);
      timer.unref();
      await new Promise<void>((r) => (socket.closed ? r() : socket.once('close', () => r())));
      clearTimeout(timer);
      await api.close().catch(() => {});
    },
  };
  return createOutOfProcConnection(stream, {
    log: ctx.log,
    signal: ctx.signal,
    // PSSessionOption.CancelTimeout bounds the stop and close acknowledgements.
    ackTimeoutMs: ctx.options.cancelTimeoutMs,
    // MaximumReceivedObjectSize also bounds one OutOfProc line (a fragment that trickles in).
    maxReceivedObjectSize: ctx.options.maximumReceivedObjectSize,
    abruptEndErrorId: 'ContainerSessionTerminated',
    async explainEnd(stderr, sawPacket) {
      // The exit code only tells a missing pwsh (127, 126) apart, before any packet; after one, asking the engine
      // (until it reports the exec stopped) would only delay the Broken state.
      const code = sawPacket ? undefined : await exitCode();
      if (
        !sawPacket &&
        (code === 127 || code === 126 || NO_PWSH.test(stderr) || NO_PWSH.test(demux.systemError ?? ''))
      ) {
        return notFound(stderr.trim().split('\n').pop() ?? '');
      }
      if (demux.systemError) {
        return new PSRemotingError(`The container engine reported: ${demux.systemError.trim()}`, {
          errorId: 'ContainerSessionTerminated',
          category: 'ConnectionError',
          targetObject: t.containerId,
        });
      }
      return undefined;
    },
  });
}

export const containerTransport: TransportPlugin<ContainerTarget> = createContainerTransport();

/** Minimal shape of a tsyringe container: register(token, { useValue }). */
export interface TransportContainer {
  register(token: symbol, provider: { useValue: TransportPlugin }): unknown;
}

/** Registers the container transport (tsyringe: `register(container)`). */
export function register(container: TransportContainer): void {
  container.register(TransportPluginToken, { useValue: containerTransport });
}
