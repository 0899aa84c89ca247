import type { KeyObject } from 'node:crypto';
import {
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import { buildConnector, Client } from 'undici';
import type { WsmanEndpoint } from '../url/wsman-endpoint.ts';
import type { AuthGeneration, AuthResponse, Lane, PreparedRequest, WsmanAuthenticator } from './auth.ts';
import { DEFAULT_MAX_ENVELOPE_SIZE } from './budget.ts';
import {
  type CommandArgs,
  type CreateShellArgs,
  commandRequest,
  createShellRequest,
  deleteRequest,
  type EnvelopeContext,
  newMessageId,
  type ReceiveArgs,
  receiveRequest,
  type SendArgs,
  type SignalArgs,
  sendRequest,
  signalRequest,
  type WsmanRequest,
} from './envelope.ts';
import {
  WsmanError,
  WsmanHttpError,
  WsmanProtocolError,
  WsmanRedirect,
  WsmanTransportError,
} from './errors.ts';
import {
  type CreateShellResult,
  isOperationTimeout,
  parseFault,
  parseResponse,
  type ReceiveResult,
  readCommandResponse,
  readCreateResponse,
  readReceiveResponse,
  type WsmanResponse,
} from './responses.ts';
import { DEFAULT_XML_LIMITS } from './xml.ts';

export interface WsmanTlsOptions {
  /** False: no certificate check at all (SkipCACheck and SkipCNCheck together). Default true. */
  readonly rejectUnauthorized?: boolean;
  /** PSSessionOption.SkipCACheck: accept a certificate no trusted CA signed. */
  readonly skipCACheck?: boolean;
  /** PSSessionOption.SkipCNCheck: accept a certificate for another name. */
  readonly skipCNCheck?: boolean;
  /** Extra trusted CA certificates (PEM). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** A client certificate (PEM, with its chain) for the handshake: -CertificateThumbprint. */
  readonly cert?: string;
  /** The client certificate's private key. */
  readonly key?: KeyObject;
  /**
   * Instead of cert and key: a TLS context already holding the client certificate and the trust (`ca`), made once
   * (the Windows store's certificate, read from a PKCS#12 that was wiped at once).
   */
  readonly clientContext?: SecureContext;
}

export interface WsmanClientOptions {
  readonly endpoint: WsmanEndpoint;
  readonly auth: WsmanAuthenticator;
  /** Bytes; default 153600 (`DEFAULT_MAX_ENVELOPE_SIZE`). */
  readonly maxEnvelopeSize?: number;
  /** UI culture, `wsman:Locale`; default `en-US`. */
  readonly locale?: string;
  /** Culture, `wsmv:DataLocale`; default the locale. */
  readonly dataLocale?: string;
  /** OperationTimeout of everything but Receive, seconds; default 180 (PowerShell's OperationTimeout, 3 min). */
  readonly operationTimeoutSeconds?: number;
  /**
   * OperationTimeout of a Receive (the long poll), seconds; default 20. Windows answers an empty poll with a
   * TimedOut fault after it; OMI ignores it and answers an empty stream after 30 s.
   */
  readonly receiveTimeoutSeconds?: number;
  readonly tls?: WsmanTlsOptions;
  /** Largest response body read, bytes; default 4 MiB (a server honours MaxEnvelopeSize, so this is generous). */
  readonly maxResponseBytes?: number;
  /**
   * Most authentication round trips one request may take; default 8: CredSSP's five legs (two of TLS, three of
   * TSRequest) and the request itself, with room for a connection the server no longer knows (401) and one more
   * (NTLM needs NEGOTIATE, AUTHENTICATE and the request).
   */
  readonly maxAuthLegs?: number;
  /** `wsmv:SessionId`; default a new `uuid:` per client. */
  readonly sessionId?: string;
}

/** What a Receive returns; `timedOut` when the server had nothing within the OperationTimeout (re-issue it). */
export interface ReceiveOutcome extends ReceiveResult {
  readonly timedOut: boolean;
}

const MAX_LANES = 8;
const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

/**
 * A small WS-Management client for the PowerShell shell: one keep-alive connection per lane (undici `Client`, which
 * is one connection), `operation` for Create/Command/Send/Signal/Delete and `receive` for the long poll, so a
 * Receive waiting on the server never holds up a Send. NTLM authenticates a connection, which is why lanes are
 * separate connections rather than a pool. Every call takes an AbortSignal; every failure is a WsmanError.
 */
export class WsmanClient {
  readonly endpoint: WsmanEndpoint;
  readonly context: EnvelopeContext;
  private readonly options: WsmanClientOptions;
  private readonly url: URL;
  private readonly lanes = new Map<Lane, Client>();
  /** Each lane's TLS peer certificate (DER), for channel binding; replaced when the lane reconnects. */
  private readonly peerCertificates = new Map<Lane, Uint8Array>();
  private closed = false;

  constructor(options: WsmanClientOptions) {
    this.options = options;
    this.endpoint = options.endpoint;
    this.url = new URL(options.endpoint.url);
    const locale = options.locale ?? 'en-US';
    this.context = {
      to: options.endpoint.url,
      resourceUri: options.endpoint.resourceUri,
      maxEnvelopeSize: options.maxEnvelopeSize ?? DEFAULT_MAX_ENVELOPE_SIZE,
      locale,
      dataLocale: options.dataLocale ?? locale,
      operationTimeoutSeconds: options.operationTimeoutSeconds ?? 180,
      sessionId: options.sessionId ?? newMessageId(),
    };
  }

  /** The lane's connector, recording the peer certificate of each TLS connection it makes. */
  private connector(lane: Lane): ReturnType<typeof buildConnector> {
    const connect = this.baseConnector();
    if (this.endpoint.scheme !== 'https') return connect;
    return (opts, cb) =>
      connect(opts, (err, socket) => {
        if (!err && socket) {
          const raw = (socket as TLSSocket).getPeerCertificate?.(true)?.raw;
          if (raw) this.peerCertificates.set(lane, new Uint8Array(raw));
          else this.peerCertificates.delete(lane);
        }
        if (err) return cb(err, null);
        cb(null, socket as NonNullable<typeof socket>);
      });
  }

  private secureContext: SecureContext | undefined;

  /**
   * With a client certificate, one TLS context for every lane and connection, made once: Node's tls takes the key
   * as PEM, so the decrypted key is exported here once into a string dropped at once, rather than kept in each
   * connector's options and parsed again at each connection. Its trust is the same as without one (`ca`, else
   * Node's roots and NODE_EXTRA_CA_CERTS).
   */
  private clientSecureContext(): SecureContext | undefined {
    const tls = this.options.tls ?? {};
    if (tls.clientContext) return tls.clientContext;
    if (!tls.cert || !tls.key) return undefined;
    this.secureContext ??= createSecureContext({
      ...(tls.ca ? { ca: tls.ca as string | Buffer | Array<string | Buffer> } : {}),
      cert: tls.cert,
      key: tls.key.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    return this.secureContext;
  }

  private baseConnector(): ReturnType<typeof buildConnector> {
    const tls = this.options.tls ?? {};
    const skipCA = tls.skipCACheck === true || tls.rejectUnauthorized === false;
    const skipCN = tls.skipCNCheck === true || tls.rejectUnauthorized === false;
    const clientCertificate = this.clientSecureContext();
    const connect = buildConnector({
      ...(clientCertificate
        ? { secureContext: clientCertificate }
        : tls.ca
          ? { ca: tls.ca as string | Buffer | Array<string | Buffer> }
          : {}),
      rejectUnauthorized: !skipCA,
      ...(skipCN ? { checkServerIdentity: () => undefined } : {}),
    });
    if (!skipCA || skipCN || this.endpoint.scheme !== 'https') return connect;
    // Node's rejectUnauthorized=false turns off the name check too: SkipCACheck alone must keep it.
    const connectWithName: typeof connect = (opts, cb) =>
      connect(opts, (err, socket) => {
        if (err || !socket) return cb(err as Error, null);
        const cert = (socket as TLSSocket).getPeerCertificate?.() as PeerCertificate | undefined;
        const bad = cert
          ? checkServerIdentity(opts.servername ?? opts.hostname, cert)
          : new Error('no certificate');
        if (bad) {
          socket.destroy();
          return cb(bad, null);
        }
        cb(null, socket);
      });
    return connectWithName;
  }

  private lane(name: Lane): Client {
    if (this.closed) throw clientClosed();
    let c = this.lanes.get(name);
    if (!c) {
      if (this.lanes.size >= MAX_LANES) throw new RangeError(`more than ${MAX_LANES} lanes`);
      c = new Client(this.url.origin, {
        pipelining: 1,
        keepAliveTimeout: 60_000,
        connect: this.connector(name),
      });
      c.on('disconnect', () => {
        this.peerCertificates.delete(name);
        this.options.auth.reset?.(name);
      });
      this.lanes.set(name, c);
    }
    return c;
  }

  /**
   * Sends one request on a lane and returns the checked response. Faults become WsmanFault, other HTTP errors
   * WsmanHttpError, no answer WsmanTransportError, a bad answer WsmanProtocolError.
   */
  async request(
    req: WsmanRequest,
    lane: Lane,
    signal: AbortSignal,
    timeoutSeconds?: number,
  ): Promise<WsmanResponse> {
    const body = new Uint8Array(Buffer.from(req.xml, 'utf8'));
    const maxBytes = this.options.maxResponseBytes ?? DEFAULT_XML_LIMITS.maxChars;
    // The server may hold a Receive for its OperationTimeout (OMI: 30 s whatever we ask); wait a little longer.
    const waitMs = ((timeoutSeconds ?? this.context.operationTimeoutSeconds) + 45) * 1000;
    const legs = this.options.maxAuthLegs ?? 8;
    // The lane handshake of the previous leg (AuthGeneration): the next attempt continues it, if it is still the lane's.
    let generation: AuthGeneration | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw clientClosed();
      const peerCertificate = this.peerCertificates.get(lane);
      let prepared: PreparedRequest;
      try {
        prepared = await this.options.auth.prepare({
          lane,
          url: this.url,
          body,
          attempt,
          ...(peerCertificate ? { peerCertificate } : {}),
          ...(generation !== undefined ? { generation } : {}),
        });
      } catch (e) {
        // The client closed meanwhile (its authenticator disposed): that is the failure, whatever prepare said.
        if (this.closed) throw clientClosed();
        // A leg that could not be made (a token the context refused, a seal that failed) ends the lane's handshake:
        // the requests waiting for it start their own at once, not after the authenticator's wait.
        this.options.auth.reset?.(lane, generation);
        throw e;
      }
      generation = prepared.generation;
      let status: number;
      let headers: Record<string, string | string[] | undefined>;
      let raw: Uint8Array;
      try {
        signal.throwIfAborted();
        const res = await this.lane(lane).request({
          path: `${this.url.pathname}${this.url.search}`,
          method: 'POST',
          headers: { 'content-type': SOAP_CONTENT_TYPE, ...prepared.headers },
          body: prepared.body ?? body,
          signal,
          headersTimeout: waitMs,
          bodyTimeout: waitMs,
        });
        status = res.statusCode;
        headers = res.headers;
        raw = await readCapped(res.body, maxBytes);
      } catch (e) {
        // A leg that never got its answer leaves a context the server will not continue.
        if (prepared.handshake) this.options.auth.reset?.(lane, generation);
        throw toTransportError(e, signal, this.endpoint);
      }
      const authRes: AuthResponse = {
        lane,
        status,
        headers,
        body: raw,
        ...(prepared.body !== undefined && !prepared.handshake ? { requestSealed: true } : {}),
        ...(generation !== undefined ? { generation } : {}),
      };
      if (status === 401 || prepared.handshake) {
        if (attempt + 1 < legs && (await this.options.auth.challenge?.(authRes))) continue;
        if (status === 401) {
          // The lane's half-done context (legs exhausted, or refused) must not make the next request wait on it.
          this.options.auth.reset?.(lane, generation);
          throw new WsmanHttpError(401, 'Unauthorized');
        }
      }
      const plain = this.options.auth.unwrap ? await this.options.auth.unwrap(authRes) : raw;
      const text = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString('utf8');
      const location = status >= 300 && status < 400 ? headers.location : undefined;
      if (location) throw new WsmanRedirect(status, Array.isArray(location) ? String(location[0]) : location);
      if (status < 200 || status >= 300) {
        throw parseFault(status, text) ?? new WsmanHttpError(status, '');
      }
      if (text.trim() === '') throw new WsmanProtocolError(`HTTP ${status} with an empty body`);
      return parseResponse(req, status, text);
    }
  }

  /** Create: opens the runspace pool with its first PSRP messages; returns the ShellId to use from now on. */
  async create(args: CreateShellArgs, signal: AbortSignal): Promise<CreateShellResult> {
    return readCreateResponse(
      await this.request(createShellRequest(this.context, args), 'operation', signal),
    );
  }

  /** Command: creates a pipeline with its first fragment; returns the CommandId to use from now on. */
  async command(args: CommandArgs, signal: AbortSignal): Promise<{ commandId: string }> {
    return readCommandResponse(await this.request(commandRequest(this.context, args), 'operation', signal));
  }

  async send(args: SendArgs, signal: AbortSignal): Promise<void> {
    await this.request(sendRequest(this.context, args), 'operation', signal);
  }

  /** One long poll. An OperationTimeout fault is not an error here: `timedOut`, nothing received. */
  async receive(args: ReceiveArgs, signal: AbortSignal, lane: Lane = 'receive'): Promise<ReceiveOutcome> {
    const timeout = args.operationTimeoutSeconds ?? this.options.receiveTimeoutSeconds ?? 20;
    const req = receiveRequest(this.context, { ...args, operationTimeoutSeconds: timeout });
    try {
      return { ...readReceiveResponse(await this.request(req, lane, signal, timeout)), timedOut: false };
    } catch (e) {
      if (isOperationTimeout(e)) return { streams: [], commandState: undefined, timedOut: true };
      throw e;
    }
  }

  async signal(args: SignalArgs, signal: AbortSignal): Promise<void> {
    await this.request(signalRequest(this.context, args), 'operation', signal);
  }

  /** Delete of the shell (closes the pool). OMI answers every one with a 500 InternalError fault. */
  async delete(args: { shellId: string }, signal: AbortSignal): Promise<void> {
    await this.request(deleteRequest(this.context, args), 'operation', signal);
  }

  /**
   * Closes the connections and disposes of the authenticator, once (idempotent): its native contexts, credentials,
   * TLS pipes and keys are released now, not at garbage collection. Requests in flight fail (ClientClosed).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.lanes.values()];
    this.lanes.clear();
    try {
      this.options.auth.dispose?.();
    } catch {
      // Releasing is best effort: a close must not fail, and the connections below must still go.
    }
    await Promise.all(all.map((c) => c.destroy().catch(() => undefined)));
  }
}

function clientClosed(): WsmanTransportError {
  return new WsmanTransportError('the WS-Management client is closed', 'ClientClosed');
}

async function readCapped(body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }, max: number) {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > max) {
      body.destroy?.();
      throw new WsmanProtocolError(`the response body is larger than ${max} bytes`);
    }
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function toTransportError(e: unknown, signal: AbortSignal, ep: WsmanEndpoint): WsmanError {
  if (e instanceof WsmanError) return e;
  const where = `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
  if (signal.aborted)
    return new WsmanTransportError(`The request to ${where} was cancelled.`, 'AbortError', e);
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code ?? 'UND_ERR';
  const detail = err.cause?.message ?? err.message ?? String(e);
  const text =
    code === 'ECONNREFUSED'
      ? `The connection to ${where} was refused. Verify that the WS-Management service is running there and listens on that port.`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `The name ${ep.host} could not be resolved.`
        : code === 'UND_ERR_HEADERS_TIMEOUT' ||
            code === 'UND_ERR_BODY_TIMEOUT' ||
            code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `${where} did not answer in time.`
          : `The request to ${where} failed: ${detail}`;
  return new WsmanTransportError(text, code, e);
}
