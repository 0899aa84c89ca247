import { testing } from '@psremote/psrp';
import { afterEach, describe, expect, it } from 'vitest';
import { isPSRemotingError, type PSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import { RecordingHostUi } from '../../src/host/recording-host-ui.ts';
import { resolveSessionOptions } from '../../src/parameters/session-option.ts';
import { openSession, type PSSession } from '../../src/session/session.ts';
import { SessionTable } from '../../src/session/session-table.ts';
import type {
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
    readonly queue = new AsyncQueue<PsrpPayload>(1_000_000);
    aborted: PSRemotingError | undefined;
    closed = false;
    private flush(pipelineId: string | null): void {
      if (behaviour.silent) return;
      for (const data of server.takeOutput()) this.queue.push({ pipelineId, stream: 'Default', data });
    }
    async send(p: PsrpPayload): Promise<void> {
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
    apiRange: '^1.0.0',
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
