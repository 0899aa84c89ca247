import { execFile } from 'node:child_process';
import type { Duplex } from 'node:stream';
import {
  type BoundParameters,
  type BoundValue,
  createOutOfProcConnection,
  isPSRemotingError,
  type OutOfProcStream,
  type PSCredentialValue,
  PSRemotingError,
  type TransportConnection,
  type TransportContext,
  type TransportPlugin,
  TransportPluginToken,
  type TransportTarget,
} from '@psremote/core';
import { streamChannel } from './byte-channel.ts';
import {
  AF_HYPERV,
  HV_PROTOCOL_RAW,
  HVSOCKET_CONNECT_TIMEOUT,
  HVSOCKET_CONNECT_TIMEOUT_MAX_MS,
  HYPERV_SOCKET_ERROR_PREFIX,
  VM_SESSION_SERVICE_ID,
  VM_SESSION_SERVICE_ID_2,
} from './constants.ts';
import { createRunspaceForVMFailed, MESSAGES } from './errors.ts';
import { sockaddrHv } from './guid.ts';
import { type ClosableChannel, directCredential, exchangeToken, negotiateBroker } from './handshake.ts';
import { NativeSocket, NativeSocketError } from './native-socket.ts';
import { lookupVm, type VmInfo, type VmQuery } from './vm-lookup.ts';

export interface HyperVTarget extends TransportTarget {
  readonly query: VmQuery;
  readonly userName: string;
  /** Hidden from JSON and logs (not enumerable). */
  readonly password: string;
  readonly configurationName: string | undefined;
}

/** How to open one Hyper-V socket: to a VM (VmId) and a service in it (ServiceId). */
export type OpenHyperVSocket = (
  vmId: string,
  serviceId: string,
  o: { readonly signal: AbortSignal; readonly timeoutMs: number },
) => Promise<Duplex>;

export interface HyperVTransportOptions {
  /** Default: an AF_HYPERV socket through Winsock (koffi). Tests give TCP to a broker stand-in. */
  readonly openSocket?: OpenHyperVSocket;
  /** Default: Get-VM through Windows PowerShell (vm-lookup.ts). */
  readonly lookup?: (
    q: VmQuery,
    o: { env: Readonly<Record<string, string | undefined>>; signal: AbortSignal },
  ) => Promise<VmInfo>;
  /** Default: the RequirePsDirectAuthentication registry value, read with reg.exe on Windows. */
  readonly requireAuthentication?: () => boolean | Promise<boolean>;
  /** The longest one handshake reply may take; default 10 s (within OpenTimeout in any case). */
  readonly readTimeoutMs?: number;
}

/** Where resolveTarget keeps the VM name the prompt shows, filled in by connect. */
const FOUND = Symbol('found VM');

function isCredential(v: BoundValue | undefined): v is PSCredentialValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as PSCredentialValue).userName === 'string'
  );
}

/** AF_HYPERV through Winsock: connect timeout both in the socket (HVSOCKET_CONNECT_TIMEOUT) and around it. */
export const openAfHyperVSocket: OpenHyperVSocket = (vmId, serviceId, o) => {
  const ms = Math.max(1, Math.min(o.timeoutMs, HVSOCKET_CONNECT_TIMEOUT_MAX_MS));
  const dword = Buffer.alloc(4);
  dword.writeUInt32LE(ms);
  return NativeSocket.connect({
    family: AF_HYPERV,
    type: 1, // SOCK_STREAM
    protocol: HV_PROTOCOL_RAW,
    address: sockaddrHv(vmId, serviceId),
    options: [{ level: HV_PROTOCOL_RAW, name: HVSOCKET_CONNECT_TIMEOUT, value: dword }],
    connectTimeoutMs: ms + 1000,
    sendTimeoutMs: 30_000,
    signal: o.signal,
    description: `Hyper-V socket ${vmId}/${serviceId}`,
  });
};

/**
 * HKLM\SOFTWARE\Microsoft\PowerShell RequirePsDirectAuthentication (64-bit view): a non-zero DWORD forbids the
 * fallback to a legacy broker. Unreadable counts as not set, as in PowerShell.
 */
export function readRequirePsDirectAuthentication(): Promise<boolean> {
  if (process.platform !== 'win32') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile(
      'reg.exe',
      ['query', 'HKLM\\SOFTWARE\\Microsoft\\PowerShell', '/v', 'RequirePsDirectAuthentication', '/reg:64'],
      { windowsHide: true, timeout: 5000 },
      (err, stdout) => resolve(!err && parseRegDword(stdout) !== undefined && parseRegDword(stdout) !== 0),
    );
  });
}

/** The value of a `REG_DWORD 0x1` line of `reg query`; undefined for any other type or none. */
export function parseRegDword(stdout: string): number | undefined {
  const m = /\bRequirePsDirectAuthentication\s+REG_DWORD\s+0x([0-9a-f]+)/i.exec(stdout);
  return m ? Number.parseInt(m[1] as string, 16) : undefined;
}

/**
 * The VMId and VMName parameter sets: PowerShell Direct to a Hyper-V VM from its Windows host
 * (OutOfProcTransportManager.cs VMHyperVSocketClientSessionTransportManager.CreateAsync). Find the VM, negotiate
 * on socket 1 with the broker (vmicvmsession), then socket 2 to the PowerShell it started: token exchange, then the
 * OutOfProc protocol.
 */
export function createHyperVTransport(options: HyperVTransportOptions = {}): TransportPlugin<HyperVTarget> {
  const openSocket = options.openSocket ?? openAfHyperVSocket;
  const lookup = options.lookup ?? ((q, o) => lookupVm(q, o));
  const requireAuthentication = options.requireAuthentication ?? readRequirePsDirectAuthentication;
  const readTimeoutMs = options.readTimeoutMs ?? 10_000;
  return {
    name: 'hyperv',
    apiRange: '^2.0.0',
    parameterSets: ['VMId', 'VMName'],
    resolveTarget(bound: BoundParameters): HyperVTarget {
      const b = bound.bound;
      const query: VmQuery =
        bound.parameterSet === 'VMId'
          ? { by: 'Id', vmId: String(b.VMId ?? '').toLowerCase() }
          : { by: 'Name', vmName: String(b.VMName ?? '') };
      const cred = b.Credential;
      const cfg = b.ConfigurationName;
      const shown = query.by === 'Id' ? query.vmId : query.vmName;
      // EnterVMSessionPrompt `{0}[{1}]: {2}`: the VM's name, which for -VMId only the lookup tells (connect sets it).
      const found = { name: shown };
      const target = {
        computerName: shown,
        prompt: {
          kind: 'remote-function',
          get label() {
            return found.name;
          },
        },
        summary: {
          transport: 'PowerShell Direct (Hyper-V socket)',
          [query.by === 'Id' ? 'vmId' : 'vmName']: shown,
          userName: isCredential(cred) ? cred.userName : '',
          configurationName: typeof cfg === 'string' && cfg ? cfg : null,
        },
        query,
        userName: isCredential(cred) ? cred.userName : '',
        configurationName: typeof cfg === 'string' && cfg ? cfg : undefined,
      } as const;
      Object.defineProperty(target, FOUND, { value: found, enumerable: false });
      return Object.defineProperty(target, 'password', {
        value: isCredential(cred) ? (cred.password ?? '') : '',
        enumerable: false,
      }) as unknown as HyperVTarget;
    },
    async connect(t: HyperVTarget, ctx: TransportContext): Promise<TransportConnection> {
      // Not wrapped: PowerShell writes these with their own ids (HyperVModuleNotAvailable, InvalidVMNameNoVM, ...).
      const vm = await lookup(t.query, { env: ctx.env, signal: ctx.signal });
      const found = (t as unknown as Record<symbol, { name: string } | undefined>)[FOUND];
      if (found) found.name = vm.vmName;
      const deadline = Date.now() + ctx.options.openTimeoutMs;
      const hs = { signal: ctx.signal, deadline, readTimeoutMs };
      const timeoutMs = () => Math.max(1, deadline - Date.now());
      const open = async (
        serviceId: string,
      ): Promise<ClosableChannel & { socket: Duplex; release(): number }> => {
        const socket = await openSocket(vm.vmId, serviceId, { signal: ctx.signal, timeoutMs: timeoutMs() });
        const ch = streamChannel(socket);
        return Object.assign(ch, { socket, close: () => closeDuplex(socket) });
      };
      let socket2: Duplex | undefined;
      try {
        const outcome = await negotiateBroker(
          () => open(VM_SESSION_SERVICE_ID),
          directCredential(t.userName, t.password),
          t.configurationName,
          { ...hs, requireAuthentication },
        );
        const ch = await open(VM_SESSION_SERVICE_ID_2);
        socket2 = ch.socket;
        if (outcome.token !== undefined) await exchangeToken(ch, outcome.token, hs);
        ch.release();
      } catch (e) {
        if (socket2) await closeDuplex(socket2);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw createRunspaceForVMFailed(socketError(e), vm.vmName);
      }
      const s2 = socket2;
      const stream: OutOfProcStream = {
        input: s2,
        output: s2,
        errorLinePrefix: HYPERV_SOCKET_ERROR_PREFIX,
        description: `virtual machine ${vm.vmName}`,
        dispose: () => closeDuplex(s2),
      };
      const connection = createOutOfProcConnection(stream, {
        log: ctx.log,
        signal: ctx.signal,
        ackTimeoutMs: ctx.options.cancelTimeoutMs,
        maxReceivedObjectSize: ctx.options.maximumReceivedObjectSize,
        abruptEndErrorId: 'IPCServerProcessReportedError',
        // HyperVSocketTransportProcessEnded: what PowerShell's reader reports at the end of socket 2.
        explainEnd: () =>
          new PSRemotingError(
            `The background process reported an error with the following message: ${MESSAGES.HyperVSocketTransportProcessEnded}`,
            {
              errorId: 'IPCServerProcessReportedError',
              category: 'ConnectionError',
              targetObject: vm.vmName,
            },
          ),
      });
      // The handshake left socket 2 paused (release); its reader is attached now, so let the bytes flow.
      s2.resume();
      return connection;
    },
  };
}

/** A socket failure as the message PowerShell's SocketException would give, with the connect step named. */
function socketError(e: unknown): unknown {
  if (isPSRemotingError(e)) return e;
  if (e instanceof NativeSocketError)
    return new PSRemotingError(`${MESSAGES.VMSessionConnectFailed} The Hyper-V socket ${e.message}.`, {
      errorId: 'VMSessionConnectFailed',
      category: 'InvalidOperation',
      cause: e,
    });
  return e;
}

async function closeDuplex(s: Duplex): Promise<void> {
  if (s.destroyed) return;
  await new Promise<void>((resolve) => {
    s.once('close', () => resolve());
    s.destroy();
  });
}

export const hyperVTransport: TransportPlugin<HyperVTarget> = createHyperVTransport();

/** Minimal shape of a tsyringe container: register(token, { useValue }). */
export interface TransportContainer {
  register(token: symbol, provider: { useValue: unknown }): unknown;
}

/** Registers the Hyper-V transport (tsyringe: `register(container)`). */
export function register(container: TransportContainer): void {
  container.register(TransportPluginToken, { useValue: hyperVTransport });
}
