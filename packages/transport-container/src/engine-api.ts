import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { PSRemotingError } from '@psremote/core';
import { Agent, type Dispatcher, request } from 'undici';
import type { EngineEndpoint } from './endpoint.ts';

/** The most of an engine's error answer read for its message. */
const MAX_ERROR_BODY = 64 * 1024;
/** The largest JSON answer taken from the engine (a container list of thousands of entries fits many times). */
const MAX_JSON_BODY = 32 * 1024 * 1024;

/**
 * A response body as text, refused past `max` bytes: an engine (or whatever answers on its socket) cannot make
 * psremote hold more than that.
 */
async function readBounded(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new PSRemotingError(`The container engine sent an answer larger than ${max} bytes.`, {
        errorId: 'ContainerEngineProtocolError',
        category: 'ProtocolError',
      });
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The newest Docker Engine API version psremote speaks; older engines are met at theirs (moby client.go). */
export const MAX_API_VERSION = '1.45';
const MIN_API_VERSION = '1.24';

function cmpVersion(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** OpenSSL / Node codes of a TLS failure (certificate, handshake, a client certificate the engine wanted). */
function isTlsFailure(code: string | undefined): boolean {
  return (
    code !== undefined &&
    /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/.test(
      code,
    )
  );
}

/** The TLS settings of an engine endpoint, for undici's connector and for the hijacked exec socket alike. */
function tlsOptions(tls: NonNullable<Extract<EngineEndpoint, { kind: 'tcp' }>['tls']>) {
  return { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.verify };
}

/** `beforeAnyAnswer`: the engine has not answered yet (the guess about a missing client certificate holds only then). */
function unreachable(endpoint: EngineEndpoint, cause: unknown, beforeAnyAnswer = false): PSRemotingError {
  const code = (cause as { code?: string })?.code ?? (cause as { cause?: { code?: string } })?.cause?.code;
  // TLS 1.3: an engine that wants a client certificate (dockerd --tlsverify) accepts the handshake and then
  // closes the connection when none comes, so a close on a TLS endpoint without one means exactly that.
  const noClientCert =
    beforeAnyAnswer &&
    endpoint.kind === 'tcp' &&
    endpoint.tls !== undefined &&
    !endpoint.tls.cert &&
    (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE');
  if (endpoint.kind === 'tcp' && endpoint.tls && (isTlsFailure(code) || noClientCert)) {
    const detail = noClientCert
      ? 'the engine closed the connection; it wants a client certificate and DOCKER_CERT_PATH has no cert.pem and key.pem'
      : ((cause as { cause?: Error })?.cause?.message ?? (cause as Error)?.message ?? '');
    return new PSRemotingError(
      `The TLS connection to the container engine at ${endpoint.display} failed (${code}${detail ? `: ${detail}` : ''}).`,
      {
        errorId: 'ContainerEngineTlsFailed',
        category: 'SecurityError',
        targetObject: endpoint.display,
        recommendedAction:
          'Check DOCKER_CERT_PATH (ca.pem for the engine, cert.pem and key.pem for this client) and DOCKER_TLS_VERIFY, as for the docker CLI.',
        cause,
      },
    );
  }
  return new PSRemotingError(
    `The container engine at ${endpoint.display} cannot be reached (${code ?? (cause as Error)?.message}). Is Docker or the podman service running? Set DOCKER_HOST to the engine's socket (for podman: podman system service, then DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock).`,
    {
      errorId: 'ContainerEngineUnavailable',
      category: 'ConnectionError',
      targetObject: endpoint.display,
      cause,
    },
  );
}

/** A small Docker Engine API client over undici, plus the raw hijacked exec stream. */
export class EngineClient {
  readonly endpoint: EngineEndpoint;
  private readonly dispatcher: Dispatcher;
  private readonly base: string;
  version = MAX_API_VERSION;

  constructor(endpoint: EngineEndpoint) {
    this.endpoint = endpoint;
    if (endpoint.kind === 'tcp') {
      this.base = `${endpoint.tls ? 'https' : 'http'}://${endpoint.host}:${endpoint.port}`;
      this.dispatcher = new Agent({
        connect: endpoint.tls ? tlsOptions(endpoint.tls) : {},
      });
    } else {
      this.base = 'http://localhost';
      this.dispatcher = new Agent({ connect: { socketPath: endpoint.path } });
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** `/_ping` (Api-Version header), then min(ours, the engine's), refusing engines older than 1.24. */
  async negotiate(signal: AbortSignal): Promise<string> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.base}/_ping`, { dispatcher: this.dispatcher, signal });
    } catch (e) {
      throw unreachable(this.endpoint, e, true);
    }
    await readBounded(res.body, MAX_ERROR_BODY);
    const server = String(res.headers['api-version'] ?? '1.40');
    if (cmpVersion(server, MIN_API_VERSION) < 0) {
      throw new PSRemotingError(
        `The container engine speaks API ${server}; psremote needs ${MIN_API_VERSION} or later.`,
        {
          errorId: 'ContainerEngineTooOld',
          category: 'NotImplemented',
        },
      );
    }
    this.version = cmpVersion(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
    return this.version;
  }

  async json<T>(
    method: 'GET' | 'POST',
    path: string,
    signal: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; body: T; text: string }> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.base}/v${this.version}${path}`, {
        method,
        dispatcher: this.dispatcher,
        signal,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw unreachable(this.endpoint, e);
    }
    const text = await readBounded(res.body, MAX_JSON_BODY);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, body: parsed as T, text };
  }

  /**
   * POST /exec/{id}/start hijacked (moby client/hijack.go): `Connection: Upgrade`, `Upgrade: tcp`; 101 (or 200
   * from older engines) and then the raw multiplexed stream on the same socket. Bytes after the headers are kept.
   */
  async startExec(execId: string, signal: AbortSignal): Promise<{ socket: Socket; head: Buffer }> {
    const ep = this.endpoint;
    const socket: Socket =
      ep.kind === 'tcp'
        ? ep.tls
          ? tlsConnect({ host: ep.host, port: ep.port, ...tlsOptions(ep.tls) })
          : netConnect({ host: ep.host, port: ep.port })
        : netConnect({ path: ep.path });
    const body = JSON.stringify({ Detach: false, Tty: false });
    return new Promise((resolve, reject) => {
      // What came so far, in a buffer that doubles (a peer sending a byte at a time costs linear time, not a copy
      // of everything at every byte); the end of the headers is searched for in what is new only.
      let store = Buffer.alloc(0);
      let used = 0;
      let searched = 0;
      let headerEnd = -1;
      const onAbort = () =>
        fail(
          new PSRemotingError('Starting PowerShell in the container was cancelled.', {
            errorId: 'OperationStopped',
            category: 'OperationStopped',
          }),
        );
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const fail = (e: unknown) => {
        cleanup();
        socket.destroy();
        reject(e);
      };
      const onError = (e: Error) => fail(unreachable(ep, e));
      const onData = (chunk: Buffer) => {
        if (used + chunk.length > store.length) {
          const grown = Buffer.alloc(Math.max(store.length * 2, used + chunk.length, 4096));
          store.copy(grown, 0, 0, used);
          store = grown;
        }
        chunk.copy(store, used);
        used += chunk.length;
        const buf = store.subarray(0, used);
        if (headerEnd < 0) headerEnd = buf.indexOf('\r\n\r\n', Math.max(0, searched - 3));
        searched = used;
        const end = headerEnd;
        if (end < 0) {
          if (buf.length > 64 * 1024)
            fail(
              new PSRemotingError('The container engine sent an oversized HTTP header.', {
                errorId: 'ContainerEngineProtocolError',
                category: 'ProtocolError',
              }),
            );
          return;
        }
        const head = buf.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
        const rest = buf.subarray(end + 4);
        if (status === 101 || status === 200) {
          cleanup();
          socket.setKeepAlive(true, 30_000);
          resolve({ socket, head: Buffer.from(rest) });
          return;
        }
        // An error answer: read its body (Content-Length) for the engine's message, at most 64 KiB of it (an
        // engine that declares more does not make us hold it).
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? -1);
        if (len >= 0 && rest.length < Math.min(len, MAX_ERROR_BODY)) return;
        cleanup();
        socket.destroy();
        let message = rest.subarray(0, MAX_ERROR_BODY).toString('utf8');
        try {
          message = (JSON.parse(message) as { message?: string }).message ?? message;
        } catch {
          // plain text
        }
        reject(Object.assign(new Error(message.trim() || `HTTP ${status}`), { status }));
      };
      socket.on('data', onData);
      socket.on('error', onError);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      socket.write(
        `POST /v${this.version}/exec/${encodeURIComponent(execId)}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${body}`,
      );
    });
  }
}
