import {
  AsyncQueue,
  type Logger,
  type OpenRequest,
  PSRemotingError,
  type PsrpPayload,
  silentLogger,
  type TransportConnection,
} from '@psremote/core';
import { splitFragments } from '@psremote/psrp';
import { DEFAULT_PS_VERSION, type WsmanEndpoint } from './url/wsman-endpoint.ts';
import { isEnvelopeTooLarge, payloadBudget, smallerEnvelopeSize } from './wsman/budget.ts';
import type { WsmanClient } from './wsman/client.ts';
import type { EnvelopeContext } from './wsman/envelope.ts';
import { isWsmanError, type WsmanError, WsmanRedirect, WsmanTransportError } from './wsman/errors.ts';
import { SIGNAL } from './wsman/namespaces.ts';
import { brokenError, type ErrorContext, openFailedError, type WsmanStep } from './wsman/remoting-error.ts';

export interface WinrmConnectionOptions {
  readonly endpoint: WsmanEndpoint;
  /** Makes the WS-Management client for an endpoint (again for each redirect: a new authenticator, new lanes). */
  readonly createClient: (endpoint: WsmanEndpoint) => WsmanClient;
  /** `rsp:Shell/@Name`: PowerShell's runspace name (`Runspace1`). */
  readonly shellName?: string;
  /** PSSessionOption.IdleTimeout in ms; -1 (or absent): the server's default, not sent. */
  readonly idleTimeoutMs?: number;
  /** PSSessionOption.NoMachineProfile: WINRS_NOPROFILE. */
  readonly noMachineProfile?: boolean;
  /**
   * PSSessionOption.OpenTimeout: the bound on the Create, after which the WinRM client's timeout error is given
   * (a little before the kernel's own OpenTimeout fires, so the user sees WinRM's text). Absent: no own bound.
   */
  readonly openTimeoutMs?: number;
  /** PSSessionOption.CancelTimeout: the bound on a stop or pipeline-close Signal; 0: no bound. */
  readonly cancelTimeoutMs?: number;
  /** The bound on the Delete of the shell at close; default 10 s. */
  readonly closeTimeoutMs?: number;
  /** Redirects followed at open (-AllowRedirection with MaximumConnectionRedirectionCount); 0: none. */
  readonly maxRedirects?: number;
  /** Told each redirect that is followed (PowerShell writes URIRedirectWarningToHost). */
  readonly onRedirect?: (uri: string) => void;
  /** Aborting it while opening fails the connection (Ctrl+C, OpenTimeout). */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** Payloads received and not yet taken by the kernel above which no further Receive is issued. */
  readonly receiveHighWaterMark?: number;
}

/** The payload budgets of one MaxEnvelopeSize (budget.ts), and the fragment size the engine must use. */
interface Budgets {
  readonly create: number;
  readonly command: number;
  readonly send: number;
}

interface CommandEntry {
  readonly pipelineId: string;
  readonly commandId: string;
  readonly lane: string;
  done: boolean;
  closing: boolean;
}

/** Lanes (keep-alive connections) for pipeline Receives; with 'operation' and 'receive' the client's 8. */
const COMMAND_LANES = ['command-1', 'command-2', 'command-3', 'command-4', 'command-5', 'command-6'];

const DEFAULT_SHELL_NAME = 'Runspace1';

/**
 * A PSRP connection over WS-Management ([PS] WSManClientSessionTransportManager and
 * WSManClientCommandTransportManager): `open` is the shell's Create with the opening fragments as creationXml,
 * each pipeline a Command with its first fragment, data a Send (stdin, or pr for host responses), and a Receive
 * loop per shell and per command on its own keep-alive connection, re-issued until the pipeline's CommandState
 * is Done or the shell is deleted.
 */
export class WinrmConnection implements TransportConnection {
  readonly maxFragmentSize: number;
  private client: WsmanClient;
  private endpoint: WsmanEndpoint;
  private readonly options: WinrmConnectionOptions;
  private readonly log: Logger;
  private readonly queue: AsyncQueue<PsrpPayload>;
  private readonly lifetime = new AbortController();
  private shellId: string | undefined;
  private readonly commands = new Map<string, CommandEntry>();
  private readonly byCommandId = new Map<string, string>();
  /** The tail of each target's sends: one outstanding Send per pool or pipeline (MS-PSRP 3.1.5.3.5). */
  private readonly sendChains = new Map<string, Promise<void>>();
  private readonly freeLanes = [...COMMAND_LANES];
  private laneWaiters: Array<(lane: string) => void> = [];
  /** The MaxEnvelopeSize Sends are packed for; lowered when the server refuses one for its size. */
  private sendEnvelopeSize: number;
  private sendBudget: number;
  private failure: PSRemotingError | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private detachSignal: (() => void) | undefined;

  constructor(options: WinrmConnectionOptions) {
    this.options = options;
    this.endpoint = options.endpoint;
    this.log = options.log ?? silentLogger;
    this.client = options.createClient(options.endpoint);
    // Flow control by room(): the Receive loops ask before each request (see receiveLoop).
    this.queue = new AsyncQueue<PsrpPayload>(options.receiveHighWaterMark ?? 64);
    const b = this.budgets(this.client.context.maxEnvelopeSize);
    // The engine fragments once, for every operation a fragment may travel in (Create, Command, Send).
    this.maxFragmentSize = Math.min(b.create, b.command, b.send);
    this.sendEnvelopeSize = this.client.context.maxEnvelopeSize;
    this.sendBudget = b.send;
    const signal = options.signal;
    if (signal) {
      const onAbort = () =>
        this.fail(
          signal.reason instanceof PSRemotingError
            ? signal.reason
            : new PSRemotingError(`The connection to ${this.endpoint.computerName} was cancelled.`, {
                errorId: 'OperationStopped',
                category: 'OperationStopped',
                cause: signal.reason,
              }),
        );
      if (signal.aborted) queueMicrotask(onAbort);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.detachSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Most bytes of fragments one Send carries: the Send budget of the MaxEnvelopeSize in use. */
  get maxPayloadSize(): number {
    return this.sendBudget;
  }

  private budgets(maxEnvelopeSize: number): Budgets {
    const ctx: EnvelopeContext = { ...this.client.context, maxEnvelopeSize };
    const shellName = this.options.shellName ?? DEFAULT_SHELL_NAME;
    return {
      create: payloadBudget(ctx, 'Create', { shellName }),
      command: payloadBudget(ctx, 'Command'),
      send: payloadBudget(ctx, 'Send'),
    };
  }

  private errorContext(): ErrorContext {
    const ep = this.endpoint;
    return {
      computerName: ep.computerName,
      resourceUri: ep.resourceUri,
      hostPort: `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`,
    };
  }

  // ---- open ---------------------------------------------------------------------------------------------

  async open(request: OpenRequest): Promise<void> {
    try {
      await this.create(request);
    } finally {
      this.detachSignal?.();
      this.detachSignal = undefined;
    }
    void this.receiveLoop(null, 'receive');
  }

  private async create(request: OpenRequest): Promise<void> {
    const fragments = splitFragments(request.data);
    let redirectsLeft = this.options.maxRedirects ?? 0;
    for (;;) {
      this.throwIfEnded();
      // MS-PSRP 3.1.5.3.1: the opening fragments go in creationXml; what does not fit the Create follows by Send.
      const budget = this.budgets(this.client.context.maxEnvelopeSize).create;
      const inCreate: Uint8Array[] = [];
      let size = 0;
      let i = 0;
      for (; i < fragments.length; i++) {
        const f = fragments[i] as Uint8Array;
        if (i > 0 && size + f.length > budget) break;
        inCreate.push(f);
        size += f.length;
      }
      const idle = this.options.idleTimeoutMs;
      try {
        const created = await this.bounded(this.options.openTimeoutMs, (signal) =>
          this.client.create(
            {
              runspacePoolId: request.runspacePoolId,
              name: this.options.shellName ?? DEFAULT_SHELL_NAME,
              creationXml: Buffer.concat(inCreate),
              ...(idle !== undefined && idle >= 0 ? { idleTimeoutSeconds: idle / 1000 } : {}),
              ...(this.options.noMachineProfile ? { noMachineProfile: true } : {}),
            },
            signal,
          ),
        );
        // An older server picks its own ShellId: everything after uses the one it returned.
        this.shellId = created.shellId;
      } catch (e) {
        if (this.failure) throw this.failure;
        if (e instanceof WsmanRedirect) {
          if (redirectsLeft > 0) {
            redirectsLeft--;
            this.redirect(e.location);
            continue;
          }
          throw this.fail(redirectRefused(e, this.endpoint.computerName));
        }
        throw this.fail(this.wsmanFailure(e, 'Create', true));
      }
      const rest = fragments.slice(i);
      if (rest.length > 0)
        await this.send({ pipelineId: null, stream: 'Default', data: Buffer.concat(rest) });
      return;
    }
  }

  /** Follows a redirect: a new client for the new URI, as PowerShell's Redirect re-initialises its session. */
  private redirect(location: string): void {
    let next: WsmanEndpoint;
    try {
      next = redirectEndpoint(this.endpoint, location);
    } catch {
      // RemotingErrorIdStrings.RedirectedURINotWellFormatted.
      throw this.fail(
        new PSRemotingError(
          `The destination "${this.endpoint.url}" requested the connection to be redirected to "${location}". However "${location}" is not a well formatted URI.`,
          {
            errorId: 'CreateRemoteRunspaceFailed',
            category: 'InvalidArgument',
            targetObject: this.endpoint.computerName,
          },
        ),
      );
    }
    // The client for the new URI first: one that may not go there (a client certificate and an http:// Location)
    // fails the connection here, the old client closed with it, and nothing is sent to the new URI.
    let client: WsmanClient;
    try {
      client = this.options.createClient(next);
    } catch (e) {
      if (e instanceof PSRemotingError) throw this.fail(e);
      throw e;
    }
    this.log.debug(`redirected to ${next.url}`);
    void this.client.close();
    this.endpoint = next;
    this.client = client;
    this.options.onRedirect?.(location);
  }

  // ---- receive loops ------------------------------------------------------------------------------------

  /**
   * One Receive after another for the shell (pipelineId null) or a command, on its own lane: re-issued on an
   * empty answer and on the OperationTimeout fault (WsmanClient.receive says `timedOut`), paused while the kernel
   * has `receiveHighWaterMark` payloads to take, ended by CommandState Done (a command) or the close.
   */
  private async receiveLoop(pipelineId: string | null, lane: string): Promise<void> {
    const entry = pipelineId ? this.commands.get(pipelineId) : undefined;
    try {
      while (!this.ended) {
        await this.queue.room();
        if (this.ended) break;
        const shellId = this.shellId as string;
        const r = await this.client.receive(
          entry ? { shellId, commandId: entry.commandId } : { shellId },
          this.lifetime.signal,
          lane,
        );
        if (this.ended) break;
        for (const s of r.streams) {
          if (s.data.length === 0) continue;
          const target = s.commandId
            ? (this.byCommandId.get(s.commandId.toUpperCase()) ?? s.commandId.toLowerCase())
            : pipelineId;
          this.queue.push({ pipelineId: target, stream: 'Default', data: s.data });
        }
        if (entry && r.commandState?.state === 'Done') break;
      }
    } catch (e) {
      // A command being closed may fault its last Receive (the server already dropped it): not a failure.
      if (!this.ended && !entry?.closing)
        this.fail(this.wsmanFailure(e, entry ? 'CommandReceive' : 'PoolReceive', false));
    } finally {
      if (entry) {
        entry.done = true;
        this.releaseLane(entry.lane);
        if (entry.closing) this.forget(entry);
      }
    }
  }

  private acquireLane(): Promise<string> {
    const lane = this.freeLanes.shift();
    if (lane) return Promise.resolve(lane);
    return new Promise((resolve) => this.laneWaiters.push(resolve));
  }

  private releaseLane(lane: string): void {
    const waiter = this.laneWaiters.shift();
    if (waiter) waiter(lane);
    else this.freeLanes.push(lane);
  }

  receive(): AsyncIterable<PsrpPayload> {
    return this.queue;
  }

  // ---- pipelines ----------------------------------------------------------------------------------------

  async createPipeline(pipelineId: string, first: PsrpPayload): Promise<void> {
    this.throwIfEnded();
    const lane = await this.acquireLane();
    let commandId: string;
    try {
      this.throwIfEnded();
      ({ commandId } = await this.client.command(
        { shellId: this.shellId as string, pipelineId, arguments: first.data },
        this.lifetime.signal,
      ));
    } catch (e) {
      this.releaseLane(lane);
      if (this.ended) throw this.endedError();
      throw this.fail(this.wsmanFailure(e, 'Command', false));
    }
    // A WinRM 2.0 server picks its own CommandId: Send, Receive and Signal use the one it returned.
    const entry: CommandEntry = { pipelineId, commandId, lane, done: false, closing: false };
    this.commands.set(pipelineId, entry);
    this.byCommandId.set(commandId.toUpperCase(), pipelineId);
    void this.receiveLoop(pipelineId, lane);
  }

  /** Signal `powershell/signal/crtl_c` (PowerShell's own spelling), bounded by CancelTimeout. */
  async stopPipeline(pipelineId: string): Promise<void> {
    const entry = this.commands.get(pipelineId);
    if (!entry || entry.done || this.ended) return;
    try {
      await this.bounded(this.options.cancelTimeoutMs, (signal) =>
        this.client.signal(
          { shellId: this.shellId as string, commandId: entry.commandId, code: SIGNAL.stop },
          signal,
        ),
      );
    } catch (e) {
      if (this.ended || entry.done) return;
      throw this.wsmanFailure(e, 'Signal', false);
    }
  }

  /**
   * What PowerShell's WSMan client does when a command ends (WSManCloseCommand): Signal `terminate` to the
   * command, whether or not its CommandState Done came (PowerShell's own Unix client, psl-omi-provider Client.c,
   * always sends it). Bounded by CancelTimeout; a fault (the server already forgot the command) is ignored.
   */
  async closePipeline(pipelineId: string): Promise<void> {
    const entry = this.commands.get(pipelineId);
    if (!entry || this.ended) return;
    entry.closing = true;
    try {
      await this.bounded(this.options.cancelTimeoutMs, (signal) =>
        this.client.signal(
          { shellId: this.shellId as string, commandId: entry.commandId, code: SIGNAL.terminate },
          signal,
        ),
      );
    } catch (e) {
      this.log.debug(`closing pipeline ${pipelineId}: ${(e as Error).message}`);
    } finally {
      if (entry.done) this.forget(entry);
    }
  }

  /** Drops a closed command's bookkeeping (unless a new pipeline took its id since). */
  private forget(entry: CommandEntry): void {
    if (this.commands.get(entry.pipelineId) !== entry) return;
    this.commands.delete(entry.pipelineId);
    this.byCommandId.delete(entry.commandId.toUpperCase());
    this.sendChains.delete(entry.pipelineId);
  }

  // ---- send ---------------------------------------------------------------------------------------------

  send(payload: PsrpPayload): Promise<void> {
    const key = payload.pipelineId ?? '';
    const prev = this.sendChains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.sendNow(payload));
    this.sendChains.set(
      key,
      next.catch(() => {}),
    );
    return next;
  }

  private async sendNow(payload: PsrpPayload): Promise<void> {
    this.throwIfEnded();
    const step: WsmanStep = payload.pipelineId ? 'CommandSend' : 'PoolSend';
    let commandId: string | undefined;
    if (payload.pipelineId) {
      commandId = this.commands.get(payload.pipelineId)?.commandId;
      if (!commandId)
        throw new PSRemotingError(`The pipeline ${payload.pipelineId} was not created on the transport.`, {
          errorId: 'InvalidPipelineState',
          category: 'InvalidOperation',
        });
    }
    const stream = payload.stream === 'PromptResponse' ? 'pr' : 'stdin';
    const pending = [payload.data];
    while (pending.length > 0) {
      const data = pending[0] as Uint8Array;
      if (data.length > this.sendBudget) {
        // More than the (possibly lowered) budget: re-pack its fragments into Sends that fit.
        pending.splice(0, 1, ...this.repack(data, step));
        continue;
      }
      try {
        this.throwIfEnded();
        await this.client.send(
          { shellId: this.shellId as string, stream, data, ...(commandId ? { commandId } : {}) },
          this.lifetime.signal,
        );
        pending.shift();
      } catch (e) {
        if (this.ended) throw this.endedError();
        if (isEnvelopeTooLarge(e)) {
          // HTTP 413 / EncodingLimit: the server takes less than we thought; go smaller (budget.ts) and split.
          const smaller = smallerEnvelopeSize(this.sendEnvelopeSize);
          if (smaller === undefined) throw this.fail(this.wsmanFailure(e, step, false));
          this.log.debug(
            `Send refused for its size at MaxEnvelopeSize ${this.sendEnvelopeSize}; trying ${smaller}`,
          );
          this.sendEnvelopeSize = smaller;
          this.sendBudget = this.budgets(smaller).send;
          continue;
        }
        throw this.fail(this.wsmanFailure(e, step, false));
      }
    }
  }

  /** Whole fragments packed into chunks of at most the Send budget; a single fragment larger is an error. */
  private repack(data: Uint8Array, step: WsmanStep): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let parts: Uint8Array[] = [];
    let size = 0;
    for (const f of splitFragments(data)) {
      if (f.length > this.sendBudget) {
        throw this.fail(
          new PSRemotingError(
            `${stepText(step)} to remote server ${this.endpoint.computerName} failed: the server refuses envelopes of more than ${this.sendEnvelopeSize} bytes, and one PSRP fragment of ${f.length} bytes does not fit one. Raise MaxEnvelopeSizekb on the server (winrm set winrm/config '@{MaxEnvelopeSizekb="500"}').`,
            {
              errorId: 'WinRMEnvelopeTooSmall',
              category: 'LimitsExceeded',
              targetObject: this.endpoint.computerName,
            },
          ),
        );
      }
      if (size + f.length > this.sendBudget && parts.length > 0) {
        chunks.push(Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
      parts.push(f);
      size += f.length;
    }
    if (parts.length > 0) chunks.push(Buffer.concat(parts, size));
    return chunks;
  }

  // ---- close --------------------------------------------------------------------------------------------

  /** Delete of the shell, bounded; idempotent; a fault is accepted (OMI answers every Delete with a 500 fault). */
  close(): Promise<void> {
    this.closed ??= this.closeNow();
    return this.closed;
  }

  private async closeNow(): Promise<void> {
    const wasFailed = this.failure !== undefined;
    this.closing = true;
    if (!wasFailed && this.shellId) {
      try {
        const shellId = this.shellId;
        await this.bounded(this.options.closeTimeoutMs ?? 10_000, (signal) =>
          this.client.delete({ shellId }, signal),
        );
      } catch (e) {
        this.log.debug(`delete: ${(e as Error).message}`);
      }
    }
    this.teardown();
    if (this.failure) this.queue.fail(this.failure);
    else this.queue.end();
  }

  /** Tears the connections down at once; the receive iteration fails with `reason`. */
  abort(reason: PSRemotingError): void {
    this.fail(reason);
  }

  // ---- failure ------------------------------------------------------------------------------------------

  private get ended(): boolean {
    return this.closing || this.failure !== undefined;
  }

  private throwIfEnded(): void {
    if (this.ended) throw this.endedError();
  }

  private endedError(): PSRemotingError {
    return (
      this.failure ??
      new PSRemotingError(`The connection to ${this.endpoint.computerName} is closed.`, {
        errorId: 'PSRemotingTransportClosed',
        category: 'ConnectionError',
      })
    );
  }

  /** Breaks the connection with `error` (the first failure wins) and returns the error to throw. */
  private fail(error: PSRemotingError): PSRemotingError {
    if (this.failure || this.closing) return this.failure ?? error;
    this.failure = error;
    this.queue.fail(error);
    this.teardown();
    return error;
  }

  private teardown(): void {
    this.detachSignal?.();
    this.detachSignal = undefined;
    this.lifetime.abort();
    const waiters = this.laneWaiters;
    this.laneWaiters = [];
    for (const w of waiters) w('');
    void this.client.close().catch(() => undefined);
  }

  /** The PowerShell error for a failed operation: CreateRemoteRunspaceFailed at open, a broken session after. */
  private wsmanFailure(e: unknown, step: WsmanStep, opening: boolean): PSRemotingError {
    if (e instanceof PSRemotingError) return e;
    const err: WsmanError = isWsmanError(e)
      ? e
      : new WsmanTransportError((e as Error)?.message ?? String(e), 'UND_ERR', e);
    return opening
      ? openFailedError(err, step, this.errorContext())
      : brokenError(err, step, this.errorContext());
  }

  /**
   * `run` with a signal that aborts at the end of the connection and, when `ms` is a positive bound, after `ms`;
   * running out of time is WinRM's timeout (`OperationTimeout` code), not a cancellation.
   */
  private async bounded<T>(ms: number | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (ms === undefined || ms <= 0) return run(this.lifetime.signal);
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(), Math.min(ms, 2_147_483_647));
    t.unref?.();
    try {
      return await run(AbortSignal.any([this.lifetime.signal, timer.signal]));
    } catch (e) {
      if (timer.signal.aborted && !this.lifetime.signal.aborted)
        throw new WsmanTransportError(
          `${this.endpoint.computerName} did not answer in time.`,
          'OperationTimeout',
          e,
        );
      throw e;
    } finally {
      clearTimeout(t);
    }
  }
}

function stepText(step: WsmanStep): string {
  return step === 'CommandSend' ? 'Sending data to a remote command' : 'Sending data';
}

/**
 * The endpoint a redirect points to, as PowerShell's `Redirect(newUri)` initialises it: the Location (resolved
 * against the request URL when relative) with `?PSVersion=` (or `;PSVersion=` after a query) appended; the
 * computer name stays the one the user gave (ConnectionInfo is not changed).
 */
export function redirectEndpoint(current: WsmanEndpoint, location: string): WsmanEndpoint {
  const u = new URL(location, current.url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TypeError(`not an http(s) URI: ${location}`);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : 80;
  const suffix = `${u.search ? `${u.search};` : '?'}PSVersion=${DEFAULT_PS_VERSION}`;
  const path = u.pathname === '/' && !u.search ? '' : u.pathname;
  return {
    ...current,
    scheme,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    connectionString: `${u.href.replace(/[?#].*$/, '').replace(/\/$/, '')}${suffix}`,
    url: `${scheme}://${u.hostname}:${port}${path || '/'}${suffix}`,
    usesDefaultWinRMPort: false,
  };
}

/** ERROR_WSMAN_REDIRECT_REQUESTED's WinRM text (the server wants another machine). */
const REDIRECT_REQUESTED_TEXT =
  'The WinRM service cannot process the request because the request needs to be sent to a different machine. Use the redirect information to send the request to a new machine.';

/**
 * A redirect without -AllowRedirection (or past MaximumConnectionRedirectionCount): PowerShell's
 * URIEndPointNotResolved text inside URIRedirectionReported, written as CreateRemoteRunspaceFailed
 * ([PS] PushRunspaceCommand.cs WriteErrorCreateRemoteRunspaceFailed; RemotingErrorIdStrings.resx).
 */
function redirectRefused(e: WsmanRedirect, computerName: string): PSRemotingError {
  // URIEndPointNotResolved is "{0}Redirect location reported: {1}." with the trimmed WinRM text as {0}.
  const notResolved = `${REDIRECT_REQUESTED_TEXT}Redirect location reported: ${e.location}.`;
  return new PSRemotingError(
    `${notResolved} To automatically connect to the redirected URI, verify the "MaximumConnectionRedirectionCount" property of the session preference variable "PSSessionOption", and use the "AllowRedirection" parameter on the cmdlet.`,
    {
      errorId: 'CreateRemoteRunspaceFailed',
      category: 'InvalidArgument',
      targetObject: computerName,
      cause: e,
    },
  );
}
