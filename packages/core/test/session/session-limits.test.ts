import { splitFragments, testing } from '@psremote/psrp';
import { afterEach, describe, expect, it } from 'vitest';
import { isPSRemotingError, type PSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { RecordingHostUi } from '../../src/host/recording-host-ui.ts';
import { resolveSessionOptions } from '../../src/parameters/session-option.ts';
import { openSession } from '../../src/session/open-session.ts';
import type { PSSession } from '../../src/session/session.ts';
import { SessionTable } from '../../src/session/session-table.ts';
import type {
  OpenRequest,
  PsrpPayload,
  TransportConnection,
  TransportContext,
  TransportPlugin,
} from '../../src/transport/contract.ts';
import { AsyncQueue } from '../../src/util/async-queue.ts';

/**
 * A connection to FakePsrpServer in memory. `silent`: the server never answers (a handshake that hangs);
 * `stops: 'never'`: stops are never acknowledged (the answer stuck behind a fragment that never ends);
 * `'ack-only'`: acknowledged, but the pipeline never stops.
 */
function memoryTransport(
  behaviour: {
    silent?: boolean;
    stops?: 'answer' | 'never' | 'ack-only';
    onPipeline?: (p: testing.FakePipeline) => void;
  } = {},
) {
  const seen: { ctx?: TransportContext; conn?: MemoryConnection } = {};
  const server = new testing.FakePsrpServer({
    onPipeline: (p) => {
      if (behaviour.onPipeline) behaviour.onPipeline(p);
      else p.output('started');
    },
  });
  class MemoryConnection implements TransportConnection {
    readonly maxFragmentSize = 32_768;
    /** Message-oriented, as WinRM: sends carry packed fragments. */
    readonly maxPayloadSize = 100_000;
    readonly queue = new AsyncQueue<PsrpPayload>(1_000_000);
    aborted: PSRemotingError | undefined;
    closed = false;
    readonly opened: OpenRequest[] = [];
    readonly sent: PsrpPayload[] = [];
    flush(pipelineId: string | null): void {
      if (behaviour.silent) return;
      for (const data of server.takeOutput()) this.queue.push({ pipelineId, stream: 'Default', data });
    }
    open(r: OpenRequest): Promise<void> {
      if (this.sent.length > 0) throw new Error('sent before open');
      this.opened.push(r);
      return this.send({ pipelineId: null, stream: 'Default', data: r.data });
    }
    async send(p: PsrpPayload): Promise<void> {
      this.sent.push(p);
      if (behaviour.silent) return new Promise<void>(() => {});
      server.receive(p.data);
      this.flush(p.pipelineId);
    }
    async createPipeline(_id: string, first: PsrpPayload): Promise<void> {
      await this.send(first);
    }
    async stopPipeline(id: string): Promise<void> {
      if (behaviour.stops === 'never') return new Promise<void>(() => {});
      if (behaviour.stops === 'ack-only') return;
      server.signalStop(id);
      this.flush(id);
    }
    async closePipeline(): Promise<void> {}
    receive(): AsyncIterable<PsrpPayload> {
      return this.queue;
    }
    async close(): Promise<void> {
      this.closed = true;
      this.queue.end();
    }
    abort(reason: PSRemotingError): void {
      this.aborted = reason;
      this.queue.fail(reason);
    }
  }
  const plugin: TransportPlugin = {
    name: 'memory',
    apiRange: '^2.0.0',
    parameterSets: [],
    resolveTarget: () => ({ computerName: 'fakehost', prompt: { kind: 'prefix', text: '[fakehost]: ' } }),
    async connect(_t, ctx) {
      seen.ctx = ctx;
      seen.conn = new MemoryConnection();
      return seen.conn;
    },
  };
  return { plugin, server, seen };
}

let session: PSSession | undefined;
afterEach(async () => {
  await session?.close();
  session = undefined;
});

function current(): PSSession {
  if (!session) throw new Error('no session');
  return session;
}

async function errorOf(p: Promise<unknown>): Promise<PSRemotingError> {
  try {
    await p;
  } catch (e) {
    if (isPSRemotingError(e)) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('transport contract 2: the open step and packed sends', () => {
  it('opens with the pool id and the two opening fragments, then packs input into few sends', async () => {
    let created: testing.FakePipeline | undefined;
    const t = memoryTransport({ onPipeline: (p) => (created = p) });
    session = await openSession({
      transport: t.plugin,
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
    });
    const conn = t.seen.conn;
    if (!conn) throw new Error('not connected');
    expect(conn.opened).toHaveLength(1);
    expect(conn.opened[0]?.runspacePoolId).toBe(session.instanceId);
    expect(splitFragments(conn.opened[0]?.data as Uint8Array)).toHaveLength(2);
    const input = Array.from({ length: 3000 }, (_, i) => i);
    const inv = session.invoke('$input', { input });
    for (let i = 0; i < 200 && !created?.inputEnded; i++) await new Promise((r) => setTimeout(r, 10));
    expect(created?.input).toEqual(input);
    const forPipeline = conn.sent.filter((p) => p.pipelineId === inv.pipelineId);
    // CREATE_PIPELINE, 3000 inputs and the end of input, in whole fragments, at most 100 000 bytes a send.
    expect(forPipeline.length).toBeGreaterThan(1);
    expect(forPipeline.length).toBeLessThan(30);
    let fragments = 0;
    for (const p of forPipeline) {
      expect(p.data.length).toBeLessThanOrEqual(conn.maxPayloadSize);
      fragments += splitFragments(p.data).length;
    }
    expect(fragments).toBe(3002);
    created?.finish('Completed');
    conn.flush(inv.pipelineId);
    expect((await inv.finished).state).toBe('Completed');
  });
});

describe('openSession and the session options', () => {
  it('lends the resolved options to the transport and applies the object limit to the pool', async () => {
    const t = memoryTransport({ onPipeline: (p) => p.output('x'.repeat(2000)).finish('Completed') });
    const sessionOptions = resolveSessionOptions({
      MaximumReceivedObjectSize: 1000,
      CancelTimeout: '00:00:07',
    });
    session = await openSession({
      transport: t.plugin,
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
      sessionOptions,
    });
    expect(t.seen.ctx?.options).toBe(sessionOptions);
    expect(session.options.cancelTimeoutMs).toBe(7000);
    const err = await errorOf(session.invoke('big').result());
    expect(err.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    expect(err.fullyQualifiedErrorId).toBe('ReceivedObjectSizeExceededMaximumClient,PSSessionStateBroken');
    expect(err.message).toContain('The allowed maximum object size is 1000.');
    expect(session.state).toBe('Broken');
  });

  it('reads -SessionOption from the bound parameters when no options are given', async () => {
    const t = memoryTransport();
    session = await openSession({
      transport: t.plugin,
      bound: {
        parameterSet: 'ComputerName',
        bound: { ComputerName: 'x', SessionOption: { OpenTimeout: '00:00:09' } },
      },
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
    });
    expect(t.seen.ctx?.options.openTimeoutMs).toBe(9000);
  });

  it('OpenTimeout bounds an open the server never answers: CreateRemoteRunspaceFailed, transport released', async () => {
    const t = memoryTransport({ silent: true });
    const t0 = performance.now();
    const err = await errorOf(
      openSession({
        transport: t.plugin,
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
        sessionOptions: resolveSessionOptions({ OpenTimeout: '00:00:00.3' }),
      }),
    );
    const took = performance.now() - t0;
    expect(err.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(err.message).toContain('did not open within the OpenTimeout of 0.3 seconds');
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    expect(t.seen.ctx?.signal.aborted).toBe(true);
    expect(t.seen.conn?.closed || t.seen.conn?.aborted !== undefined).toBe(true);
  });

  it('OpenTimeout also bounds a transport connect that never returns', async () => {
    const never: TransportPlugin = {
      ...memoryTransport().plugin,
      connect: (_t, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    const err = await errorOf(
      openSession({
        transport: never,
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
        sessionOptions: resolveSessionOptions({ OpenTimeout: '00:00:00.2' }),
      }),
    );
    expect(err.errorId).toBe('CreateRemoteRunspaceFailed');
  });

  it('the OpenTimeout clock stops while the transport asks the user something', async () => {
    const asking: TransportPlugin = {
      ...memoryTransport().plugin,
      async connect(t, ctx) {
        // A slow answer (400 ms) to a prompt, with an OpenTimeout of 250 ms.
        await ctx.hostUi.readLine(ctx.signal);
        return memoryTransport().plugin.connect(t, ctx);
      },
    };
    const hostUi = new RecordingHostUi({ interactive: true, answers: [] });
    hostUi.readLine = () => new Promise((r) => setTimeout(() => r('yes'), 400));
    session = await openSession({
      transport: asking,
      hostUi,
      table: new SessionTable(),
      sessionOptions: resolveSessionOptions({ OpenTimeout: '00:00:00.25' }),
    });
    expect(session.state).toBe('Opened');
  });

  it('Ctrl+C while opening cancels at once (OperationStopped)', async () => {
    const t = memoryTransport({ silent: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await errorOf(
      openSession({
        transport: t.plugin,
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
        signal: ac.signal,
      }),
    );
    expect(err.errorId).toBe('OperationStopped');
  });
});

describe('Invocation.interrupt: Ctrl+C always gets the user out', () => {
  async function open(
    behaviour: Parameters<typeof memoryTransport>[0],
    options: Record<string, string> = {},
  ) {
    const t = memoryTransport(behaviour);
    session = await openSession({
      transport: t.plugin,
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
      sessionOptions: resolveSessionOptions(options),
    });
    return t;
  }

  it('a stop the server answers ends the command Stopped; the session stays open', async () => {
    await open({});
    const inv = current().invoke('long');
    inv.interrupt();
    expect((await inv.finished).state).toBe('Stopped');
    expect(current().state).toBe('Opened');
  });

  it('an unanswered stop ends the session after CancelTimeout (at most 5 s): IPCSignalTimedOut', async () => {
    const t = await open({ stops: 'never' }, { CancelTimeout: '00:00:00.3' });
    const inv = current().invoke('long');
    const t0 = performance.now();
    inv.interrupt();
    const err = await errorOf(inv.finished);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(err.errorId).toBe('IPCSignalTimedOut');
    expect(err.fullyQualifiedErrorId).toBe('IPCSignalTimedOut,PSSessionStateBroken');
    expect(current().state).toBe('Broken');
    expect(t.seen.conn?.aborted?.errorId).toBe('IPCSignalTimedOut');
  });

  it('a second Ctrl+C ends the session at once: SessionEndedByInterrupt', async () => {
    const t = await open({ stops: 'never' });
    const inv = current().invoke('long');
    inv.interrupt();
    inv.interrupt();
    const err = await errorOf(inv.finished);
    expect(err.errorId).toBe('SessionEndedByInterrupt');
    expect(t.seen.conn?.aborted).toBe(err);
  });

  it('a command that acknowledges the stop but never ends is bounded by CancelTimeout: PipelineStopTimedOut', async () => {
    await open({ stops: 'ack-only' }, { CancelTimeout: '00:00:00.3' });
    const inv = current().invoke('stubborn');
    inv.interrupt();
    const err = await errorOf(inv.finished);
    expect(err.errorId).toBe('PipelineStopTimedOut');
  });

  it('the default object limit (10 MB) lets ordinary output through', async () => {
    await open({ onPipeline: (p) => p.output('y'.repeat(300_000)).finish('Completed') });
    expect(current().options.maximumReceivedObjectSize).toBe(10 * 1024 * 1024);
    const r = await current().invoke('x').result();
    expect(String(r.output[0]).length).toBe(300_000);
  });
});
