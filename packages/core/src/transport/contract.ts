import type { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import type { ResolvedSessionOptions } from '../parameters/session-option.ts';
import type { BoundParameters, ParameterSetName } from '../parameters/types.ts';

/**
 * The version of this contract; a plugin declares the semver range it supports in `apiRange`.
 * 2.0.0: `open` carries the opening messages (WinRM's Create), a send carries whole fragments packed up to
 * `maxPayloadSize` (WinRM's Send), the receive iteration is the merge of the pool's and each pipeline's streams.
 */
export const TRANSPORT_API = '2.0.0';

export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
}

export const silentLogger: Logger = { debug() {}, warn() {} };

/** How the local prompt shows the target (PowerShell's HostUtilities.GetRemotePrompt rules). */
export type PromptStyle =
  /** `[<text>]: ` before the remote prompt (WSMan, SSH, the local process session). */
  | { readonly kind: 'prefix'; readonly text: string }
  /** VM and container sessions: a remote `prompt` function carries `[<label>]: PS ...`, no local prefix. */
  | { readonly kind: 'remote-function'; readonly label: string };

/** What `resolveTarget` makes of the bound parameters: the transport's own normalised target. */
export interface TransportTarget {
  /** Shown in the session table and error messages. */
  readonly computerName: string;
  readonly prompt: PromptStyle;
  /**
   * What `--dry-run` shows about where and how the transport would connect, without secrets: WinRM's URL,
   * authentication and resource URI; SSH's user, host and port.
   */
  readonly summary?: Readonly<Record<string, string | number | boolean | null>>;
  /** Anything else the transport needs to connect. */
  readonly [key: string]: unknown;
}

/**
 * One PSRP unit: whole fragments (MS-PSRP 2.2.4), in order, of one target (the pool or one pipeline) and one
 * stream. What the kernel sends is at most `maxPayloadSize` bytes; what a transport receives may be any number of
 * whole fragments (a WinRM Receive answer's Stream, one OutOfProc Data packet).
 */
export interface PsrpPayload {
  /** Pipeline id (lowercase GUID), or null for runspace-pool (session) traffic. */
  readonly pipelineId: string | null;
  /** `PromptResponse` carries host-call responses (WSMan stream `pr`). */
  readonly stream: 'Default' | 'PromptResponse';
  readonly data: Uint8Array;
}

/** The opening of a runspace pool (MS-PSRP 3.1.5.3.1): its id and its first two messages. */
export interface OpenRequest {
  /** The runspace pool id (lowercase GUID): WinRM's ShellId, in the header of every fragment. */
  readonly runspacePoolId: string;
  /** The fragments of SESSION_CAPABILITY and INIT_RUNSPACEPOOL, concatenated (WinRM: creationXml). */
  readonly data: Uint8Array;
}

/** What the kernel lends a transport. A transport never touches process.stdin or the console. */
export interface TransportContext {
  readonly hostUi: HostUi;
  /** Aborted on Ctrl+C while connecting, or when the caller gives up. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** The environment to read (HOME, SSH_AUTH_SOCK, DOCKER_HOST, ...): process.env in the CLI. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The session's timeouts and limits (PSSessionOption). The kernel bounds the whole open by `openTimeoutMs`
   * itself (aborting `signal`); a transport uses `cancelTimeoutMs` for its stop/close acknowledgements and passes
   * on what its protocol knows (WSMan OperationTimeout, IdleTimeout; `passThrough` for proxy and TLS options).
   */
  readonly options: ResolvedSessionOptions;
}

/**
 * What a transport gives back: a PSRP connection. Byte-stream transports (OutOfProc over a process, SSH, a
 * container) get all of it from `createOutOfProcConnection`; message-oriented ones (WinRM) map each call to an
 * operation. The kernel calls `open` once and first; nothing else is sent before it resolved. At most one send
 * (or createPipeline) per target is outstanding at a time.
 */
export interface TransportConnection {
  /**
   * Largest fragment (header included) the transport carries; the engine fragments to fit. A message-oriented
   * transport gives the smallest of what its operations can carry (WinRM: Create, Command and Send budgets).
   */
  readonly maxFragmentSize: number;
  /**
   * Most bytes one `send` may carry: the kernel packs consecutive whole fragments of one target and stream up to
   * it (WinRM: the Send budget of MaxEnvelopeSize). Absent: one fragment per send (OutOfProc: one Data packet
   * per fragment, as PowerShell's client writes them).
   */
  readonly maxPayloadSize?: number;
  /**
   * Opens the runspace pool with its first two messages and resolves when the server took them (OutOfProc: the
   * DataAcks; WinRM: the CreateResponse, after which its receive for the pool starts). The server's answer
   * (SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE) arrives through `receive()`. Rejects with a
   * PSRemotingError (PowerShell's connect error for the transport) when the server refuses; `receive()` then
   * fails with the same error.
   */
  open(request: OpenRequest): Promise<void>;
  /** Sends whole fragments of one target; resolves when the peer accepted them (OutOfProc DataAck, WinRM Send). */
  send(payload: PsrpPayload): Promise<void>;
  /**
   * Creates a pipeline with its first fragment (OutOfProc Command/CommandAck then Data; WinRM Command with the
   * fragment in Arguments); from then on the pipeline's stream is part of `receive()` until the server ends it.
   */
  createPipeline(pipelineId: string, first: PsrpPayload): Promise<void>;
  /** Stops a running pipeline (OutOfProc Signal, WSMan crtl_c). */
  stopPipeline(pipelineId: string): Promise<void>;
  /** Releases a finished pipeline on the transport (OutOfProc Close for the pipeline). */
  closePipeline(pipelineId: string): Promise<void>;
  /**
   * Payloads from the server until the connection ends: the merge of the pool's stream and each pipeline's, each
   * in order (OutOfProc: one stream already; WinRM: one Receive loop per shell and per command). A transport reads
   * ahead only a bounded amount: when the kernel stops pulling (a slow consumer) it stops asking the server. A clean
   * end (after `close`) finishes the iteration; a failure throws a PSRemotingError (the session becomes Broken).
   */
  receive(): AsyncIterable<PsrpPayload>;
  /** Closes the session on the transport; idempotent; never hangs (bounded by its own timeout). */
  close(): Promise<void>;
  /**
   * Tears the connection down at once, without the goodbye (no Close/CloseAck): the kernel's way out of a stuck
   * or silent server (Ctrl+C unanswered). The receive iteration fails with `reason`. Optional: without it the
   * kernel falls back to `close()`.
   */
  abort?(reason: PSRemotingError): void;
}

/**
 * A transport: serves one or more parameter sets. `T` is the plugin's own target (what `resolveTarget` gives and
 * `connect` takes), so a plugin never casts it; the kernel holds plugins as `TransportPlugin` (any target).
 */
export interface TransportPlugin<T extends TransportTarget = TransportTarget> {
  /** `process`, `ssh`, `winrm`, `container`, `hyperv`, or a third party's name. */
  readonly name: string;
  /** Semver range of TRANSPORT_API this plugin was written against, e.g. `^2.0.0`. */
  readonly apiRange: string;
  readonly parameterSets: readonly ParameterSetName[];
  /** Pure: validates and normalises the bound parameters. Throws PSRemotingError. */
  resolveTarget(bound: BoundParameters, env: Readonly<Record<string, string | undefined>>): T;
  connect(target: T, ctx: TransportContext): Promise<TransportConnection>;
}
