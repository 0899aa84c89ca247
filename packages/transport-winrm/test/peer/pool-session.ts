import { ClientRunspacePool, type PsrpEvent } from '@psremote/psrp';
import type { AuthRequest, AuthResponse, WsmanAuthenticator } from '../../src/wsman/auth.ts';
import type { WsmanClient } from '../../src/wsman/client.ts';
import { SIGNAL } from '../../src/wsman/namespaces.ts';

/** An authenticator that records the Content-Type of every body it sends and receives. */
export function recording(inner: WsmanAuthenticator) {
  const sent: string[] = [];
  const received: string[] = [];
  const sentBytes: number[] = [];
  const auth: WsmanAuthenticator = {
    async prepare(req: AuthRequest) {
      const p = await inner.prepare(req);
      const body = p.body ?? req.body;
      if (body.length > 0) {
        sent.push(p.headers['content-type'] ?? 'application/soap+xml');
        sentBytes.push(body.length);
      }
      return p;
    },
    challenge: (res: AuthResponse) => inner.challenge?.(res) ?? false,
    unwrap(res: AuthResponse) {
      if (res.body.length > 0) received.push(String(res.headers['content-type'] ?? ''));
      return inner.unwrap ? inner.unwrap(res) : res.body;
    },
    reset: (lane) => inner.reset?.(lane),
  };
  return { auth, sent, received, sentBytes };
}

/** A runspace pool driven by hand over WsmanClient (as endpoint.peer.test.ts does). */
export class PoolSession {
  readonly pool = new ClientRunspacePool();
  shellId = '';
  readonly client: WsmanClient;
  constructor(client: WsmanClient) {
    this.client = client;
  }

  private feed(streams: ReadonlyArray<{ data: Uint8Array }>): PsrpEvent[] {
    for (const s of streams) if (s.data.length > 0) this.pool.receiveData(null, s.data);
    const out: PsrpEvent[] = [];
    for (let e = this.pool.nextEvent(); e; e = this.pool.nextEvent()) out.push(e);
    return out;
  }

  async open(signal: AbortSignal): Promise<void> {
    this.pool.open();
    const parts: Uint8Array[] = [];
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend()) parts.push(p.data);
    const created = await this.client.create(
      { runspacePoolId: this.pool.runspacePoolId, name: 'Runspace1', creationXml: Buffer.concat(parts) },
      signal,
    );
    this.shellId = created.shellId;
    for (let i = 0; i < 20 && this.pool.state !== 'Opened' && this.pool.state !== 'Broken'; i++) {
      const r = await this.client.receive({ shellId: this.shellId, operationTimeoutSeconds: 10 }, signal);
      this.feed(r.streams);
    }
    if (this.pool.state !== 'Opened') throw new Error(`the pool is ${this.pool.state}`);
  }

  /** Runs a script to the end; returns its events. A long script goes out in several Sends. */
  async run(script: string, signal: AbortSignal): Promise<PsrpEvent[]> {
    this.pool.createPipeline({ commands: [{ command: script, isScript: true }], noInput: true });
    const first = this.pool.dataToSend();
    if (!first?.createsPipeline || !first.pipelineId) throw new Error('expected CREATE_PIPELINE');
    const { commandId } = await this.client.command(
      { shellId: this.shellId, pipelineId: first.pipelineId, arguments: first.data },
      signal,
    );
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend())
      await this.client.send(
        { shellId: this.shellId, stream: 'stdin', data: p.data, ...(p.pipelineId ? { commandId } : {}) },
        signal,
      );
    const events: PsrpEvent[] = [];
    for (let i = 0; i < 400; i++) {
      const r = await this.client.receive(
        { shellId: this.shellId, commandId, operationTimeoutSeconds: 10 },
        signal,
      );
      events.push(...this.feed(r.streams));
      if (r.commandState?.state === 'Done') {
        await this.client.signal({ shellId: this.shellId, commandId, code: SIGNAL.terminate }, signal);
        return events;
      }
    }
    throw new Error('the command did not reach Done');
  }
}

export const outputs = (events: PsrpEvent[]) =>
  events.filter((e) => e.type === 'PipelineOutput').map((e) => (e as { value: unknown }).value);
