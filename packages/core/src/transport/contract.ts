import type { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import type { ResolvedSessionOptions } from '../parameters/session-option.ts';
import type { BoundParameters, ParameterSetName } from '../parameters/types.ts';

/** The version of this contract; a plugin declares the semver range it supports in `apiRange`. */
export const TRANSPORT_API = '1.0.0';

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
  /** Anything else the transport needs to connect. */
  readonly [key: string]: unknown;
}

/** One PSRP send unit: the bytes of one fragment (MS-PSRP 2.2.4) for the pool or a pipeline. */
export interface PsrpPayload {
  /** Pipeline id (lowercase GUID), or null for runspace-pool (session) traffic. */
  readonly pipelineId: string | null;
  /** `PromptResponse` carries host-call responses (WSMan stream `pr`). */
  readonly stream: 'Default' | 'PromptResponse';
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

/** What a transport gives back: a PSRP connection. */
export interface TransportConnection {
  /** Largest fragment (header included) the transport carries; the engine fragments to fit. */
  readonly maxFragmentSize: number;
  /** Sends one payload; resolves when the peer accepted it (OutOfProc DataAck). */
  send(payload: PsrpPayload): Promise<void>;
  /** Creates a pipeline on the transport (OutOfProc Command/CommandAck), then sends its first fragment. */
  createPipeline(pipelineId: string, first: PsrpPayload): Promise<void>;
  /** Stops a running pipeline (OutOfProc Signal, WSMan crtl_c). */
  stopPipeline(pipelineId: string): Promise<void>;
  /** Releases a finished pipeline on the transport (OutOfProc Close for the pipeline). */
  closePipeline(pipelineId: string): Promise<void>;
  /**
   * Payloads from the server, in order, until the connection ends. A clean end (after `close`) finishes the
   * iteration; a failure throws a PSRemotingError (the session becomes Broken).
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

/** A transport: serves one or more parameter sets. */
export interface TransportPlugin {
  /** `process`, `ssh`, `winrm`, `container`, `hyperv`, or a third party's name. */
  readonly name: string;
  /** Semver range of TRANSPORT_API this plugin was written against, e.g. `^1.0.0`. */
  readonly apiRange: string;
  readonly parameterSets: readonly ParameterSetName[];
  /** Pure: validates and normalises the bound parameters. Throws PSRemotingError. */
  resolveTarget(bound: BoundParameters, env: Readonly<Record<string, string | undefined>>): TransportTarget;
  connect(target: TransportTarget, ctx: TransportContext): Promise<TransportConnection>;
}
