import type { Readable, Writable } from 'node:stream';

/**
 * A duplex byte stream to a PowerShell server in OutOfProc mode (`pwsh -s`, `pwsh -sshs`, an exec in a
 * container, a Hyper-V socket). Every OutOfProc transport only has to produce one of these; the shared
 * `createOutOfProcConnection` (core) turns it into a TransportConnection.
 */
export interface OutOfProcStream {
  /** Bytes from the server (its stdout): OutOfProc packets, one per line. */
  readonly input: Readable;
  /** Bytes to the server (its stdin). */
  readonly output: Writable;
  /** The server's error text (stderr, or a demultiplexed stream), reported to the user; optional. */
  readonly errors?: Readable;
  /**
   * A prefix that marks an error line inside `input` (`__NamedPipeError__:` for `pwsh -sshs`,
   * `__HyperVSocketError__:` for Hyper-V), reported as IPCServerProcessReportedError.
   */
  readonly errorLinePrefix?: string;
  /** Human name of the peer for error messages (`pwsh process 1234`, `ssh pstest@127.0.0.1:2222`). */
  readonly description: string;
  /** Releases the underlying resource (kills the child, closes the channel/socket). Idempotent. */
  dispose(): Promise<void>;
}
