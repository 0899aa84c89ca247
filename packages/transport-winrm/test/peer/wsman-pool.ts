import { ClientRunspacePool, type PsrpEvent } from '@psremote/psrp';
import type { WsmanClient } from '../../src/wsman/client.ts';

/**
 * A runspace pool driven by hand over a WsmanClient (the transport is not wired yet): Create with the opening
 * messages, Receive until Opened, pipelines by Command/Send/Receive. For the tests that need a whole session on
 * a peer (HTTPS, NTLM) rather than each operation on its own.
 */
export class WsmanPool {
  readonly pool = new ClientRunspacePool();
  shellId = '';
  readonly client: WsmanClient;

  constructor(client: WsmanClient) {
    this.client = client;
  }

  /** Create + Receive until the pool is Opened; returns the events seen (SESSION_CAPABILITY, ...). */
  async open(signal: AbortSignal): Promise<PsrpEvent[]> {
    this.pool.open();
    const parts: Uint8Array[] = [];
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend()) parts.push(p.data);
    const created = await this.client.create(
      { runspacePoolId: this.pool.runspacePoolId, name: 'Runspace1', creationXml: Buffer.concat(parts) },
      signal,
    );
    this.shellId = created.shellId;
    const seen: PsrpEvent[] = [];
    for (let i = 0; i < 10 && this.pool.state !== 'Opened' && this.pool.state !== 'Broken'; i++) {
      const r = await this.client.receive({ shellId: this.shellId }, signal);
      seen.push(...this.feed(r.streams));
    }
    if (this.pool.state !== 'Opened') throw new Error(`the pool is ${this.pool.state}, not Opened`);
    return seen;
  }

  /** Runs a script to completion; returns its output values and every event. */
  async run(script: string, signal: AbortSignal): Promise<{ output: unknown[]; events: PsrpEvent[] }> {
    this.pool.createPipeline({ commands: [{ command: script, isScript: true }], noInput: true });
    const first = this.pool.dataToSend();
    if (!first?.createsPipeline || !first.pipelineId)
      throw new Error('expected the CREATE_PIPELINE fragment');
    const { commandId } = await this.client.command(
      { shellId: this.shellId, pipelineId: first.pipelineId, arguments: first.data },
      signal,
    );
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend())
      await this.client.send({ shellId: this.shellId, stream: 'stdin', data: p.data, commandId }, signal);
    const events: PsrpEvent[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await this.client.receive({ shellId: this.shellId, commandId }, signal);
      events.push(...this.feed(r.streams));
      if (r.commandState?.state === 'Done') {
        const output = events
          .filter((e) => e.type === 'PipelineOutput')
          .map((e) => (e as { value: unknown }).value);
        return { output, events };
      }
    }
    throw new Error('the command did not reach Done');
  }

  private feed(streams: ReadonlyArray<{ data: Uint8Array }>): PsrpEvent[] {
    for (const s of streams) if (s.data.length > 0) this.pool.receiveData(null, s.data);
    const out: PsrpEvent[] = [];
    for (let e = this.pool.nextEvent(); e; e = this.pool.nextEvent()) out.push(e);
    return out;
  }
}
