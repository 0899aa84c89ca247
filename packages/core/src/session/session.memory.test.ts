import { EMPTY_GUID, hostMethodId, PSObject, testing } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { isPSRemotingError, type PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { DEFAULT_SESSION_OPTIONS } from '../parameters/session-option.ts';
import {
  createMemoryTransport,
  type MemoryOutOfProcPair,
  type MemoryTransportOptions,
} from '../testing/memory-transport.ts';
import { openSession } from './open-session.ts';
import type { PSSession } from './session.ts';
import { SessionTable } from './session-table.ts';

type FakePipeline = testing.FakePipeline;
const FakeServer = testing.FakePsrpServer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a session on a memory transport whose pipelines `script` drives; returns the session and its pair. */
async function open(
  script: (p: FakePipeline) => void = () => {},
  options: MemoryTransportOptions & { hostUi?: RecordingHostUi; cancelTimeoutMs?: number } = {},
): Promise<{ session: PSSession; pair: MemoryOutOfProcPair; table: SessionTable; hostUi: RecordingHostUi }> {
  const transport = createMemoryTransport({
    ...options,
    serverOptions: { ...options.serverOptions, onPipeline: script },
  });
  const table = new SessionTable();
  const hostUi = options.hostUi ?? new RecordingHostUi();
  const session = await openSession({
    transport,
    hostUi,
    table,
    ...(options.cancelTimeoutMs !== undefined
      ? { sessionOptions: { ...DEFAULT_SESSION_OPTIONS, cancelTimeoutMs: options.cancelTimeoutMs } }
      : {}),
  });
  const pair = transport.pairOf(session);
  if (!pair) throw new Error('no pair for the session');
  return { session, pair, table, hostUi };
}

/** The pipeline the server created for the n-th command, once it exists. */
async function serverPipeline(pair: MemoryOutOfProcPair, n = 0): Promise<FakePipeline> {
  for (let i = 0; i < 500; i++) {
    const p = [...pair.server.pipelines.values()][n];
    if (p) return p;
    await sleep(2);
  }
  throw new Error('the server never saw the pipeline');
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PSRemotingError,
  );

describe('PSSession over the memory transport: opening', () => {
  it('opens: SESSION_CAPABILITY then INIT_RUNSPACEPOOL as pool Data, Opened and Available, listed in its table', async () => {
    const { session, pair, table } = await open(undefined, {
      serverOptions: {
        protocolVersion: '2.2',
        applicationPrivateData: new PSObject({ extended: [['PSVersionTable', 'v']] }),
      },
    });
    expect(session.state).toBe('Opened');
    expect(session.availability).toBe('Available');
    expect(session.protocolVersion).toBe('2.2');
    expect((session.applicationPrivateData as PSObject).get('PSVersionTable')).toBe('v');
    expect(pair.server.received.map((m) => m.typeName)).toEqual(['SESSION_CAPABILITY', 'INIT_RUNSPACEPOOL']);
    expect(pair.fromClient.map((p) => `${p.kind}:${p.psGuid}`)).toEqual([
      `Data:${EMPTY_GUID}`,
      `Data:${EMPTY_GUID}`,
    ]);
    expect(pair.server.runspacePoolId).toBe(session.instanceId);
    expect(table.list().map((s) => s.instanceId)).toEqual([session.instanceId]);
    expect(pair.server.violations).toEqual([]);
    await session.close();
  });

  it('a server that never answers the open: the open fails with OpenTimeout, the stream is disposed', async () => {
    const transport = createMemoryTransport({ onConnect: (pair) => pair.stopAnswering() });
    const t0 = performance.now();
    const err = await rejection(
      openSession({
        transport,
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
        openTimeoutMs: 150,
      }),
    );
    expect(isPSRemotingError(err)).toBe(true);
    // PowerShell's id for an open that did not finish (the message names OpenTimeout).
    expect(err?.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(err?.message).toMatch(/OpenTimeout/);
    expect(performance.now() - t0).toBeLessThan(5000);
    await sleep(20);
    expect(transport.pairs[0]?.disposeCalls).toBeGreaterThanOrEqual(1);
  });
});

describe('PSSession over the memory transport: OpenTimeout and prompts while the pool opens', () => {
  it('a pool host call answered slowly while the pool opens does not count against OpenTimeout', async () => {
    // The server asks for a line before it reports the pool Opened, and reports it once answered.
    class AskingServer extends FakeServer {
      private asked = false;
      private held = false;
      override poolState(state: 'Opened' | 'Closed' | 'Broken'): void {
        if (state === 'Opened' && !this.asked) {
          this.asked = true;
          this.held = true;
          this.hostCall(hostMethodId('ReadLine'), []);
          return;
        }
        super.poolState(state);
      }
      override receive(data: Uint8Array): void {
        super.receive(data);
        if (this.held && this.hostResponses.length > 0) {
          this.held = false;
          super.poolState('Opened');
        }
      }
    }
    const slow: HostUi = Object.assign(new RecordingHostUi(), {
      readLine: async () => {
        await sleep(400);
        return 'typed slowly';
      },
    });
    const transport = createMemoryTransport({ createServer: () => new AskingServer({}) });
    const session = await openSession({
      transport,
      hostUi: slow,
      table: new SessionTable(),
      openTimeoutMs: 200,
    });
    expect(session.state).toBe('Opened');
    expect(transport.pairOf(session)?.server.hostResponses[0]).toMatchObject({ result: 'typed slowly' });
    await session.close();
  });
});

describe('PSSession over the memory transport: commands', () => {
  it('invoke: the script reaches the server, every stream comes back in order, then Completed', async () => {
    const { session, pair } = await open((p) => {
      p.output(1).output('two');
      p.error({ message: 'bad', fullyQualifiedErrorId: 'Bad,X' });
      p.warning('w').verbose('v').debug('d');
      p.information({ messageData: 'info', tags: ['t'], source: 's' });
      p.progress({ activity: 'act', activityId: 1, percentComplete: 50, statusDescription: 'half' });
      p.finish();
    });
    const inv = session.invoke('Get-Thing -Name x');
    const kinds: string[] = [];
    for await (const e of inv) kinds.push(e.kind);
    expect(kinds).toEqual([
      'output',
      'output',
      'error',
      'warning',
      'verbose',
      'debug',
      'information',
      'progress',
    ]);
    const r = await inv.result();
    expect(r.state).toBe('Completed');
    const sp = await serverPipeline(pair);
    expect(sp.spec.commands[0]).toMatchObject({ command: 'Get-Thing -Name x', isScript: true });
    // The finished pipeline is released on the transport (OutOfProc Close for its guid).
    await pair.clientSent((p) => p.kind === 'Close' && p.psGuid === inv.pipelineId);
    expect(pair.fromClient.find((p) => p.kind === 'Command')?.psGuid).toBe(inv.pipelineId);
    expect(pair.violations).toEqual([]);
    await session.close();
  });

  it('result(): output, error records with their ids, warnings, and a Failed pipeline with its reason', async () => {
    const { session } = await open((p) => {
      const s = p.spec.commands[0]?.command;
      if (s === 'fail') p.finish('Failed', { message: 'it broke', fullyQualifiedErrorId: 'Broke' });
      else {
        p.output('a').error({ message: 'e1', fullyQualifiedErrorId: 'E1,Cmd' }).warning('careful').finish();
      }
    });
    const ok = await session.invoke('ok').result();
    expect(ok.output).toEqual(['a']);
    expect(ok.errors.map((e) => e.fullyQualifiedErrorId)).toEqual(['E1,Cmd']);
    expect(ok.warnings).toEqual(['careful']);
    const bad = await session.invoke('fail').result();
    expect(bad.state).toBe('Failed');
    expect(bad.reason?.message).toBe('it broke');
    expect(session.availability).toBe('Available');
    await session.close();
  });

  it('input objects reach the server, then the end of input', async () => {
    const { session, pair } = await open();
    const inv = session.invoke('$input', { input: [1, 'two', true] });
    const sp = await serverPipeline(pair);
    for (let i = 0; i < 200 && !sp.inputEnded; i++) await sleep(2);
    expect(sp.input).toEqual([1, 'two', true]);
    expect(sp.inputEnded).toBe(true);
    expect(session.availability).toBe('Busy');
    sp.finish();
    expect((await inv.result()).state).toBe('Completed');
    await session.close();
  });

  it('stop: a Signal for the pipeline, SignalAck, Stopped; the session stays usable', async () => {
    const { session, pair } = await open((p) => {
      if (p.spec.commands[0]?.command === '6*7') p.output(42).finish();
    });
    const inv = session.invoke('while ($true) {}');
    await serverPipeline(pair);
    await inv.stop();
    expect(pair.fromClient.filter((p) => p.kind === 'Signal').map((p) => p.psGuid)).toEqual([inv.pipelineId]);
    expect(pair.toClient.some((p) => p.kind === 'SignalAck' && p.psGuid === inv.pipelineId)).toBe(true);
    const r = await inv.result();
    expect(r.state).toBe('Stopped');
    expect(r.reason?.fullyQualifiedErrorId).toBe('PipelineStopped');
    expect((await session.invoke('6*7').result()).output).toEqual([42]);
    expect(session.state).toBe('Opened');
    await session.close();
  });

  it('an aborted invoke signal stops the pipeline', async () => {
    const { session, pair } = await open();
    const ac = new AbortController();
    const inv = session.invoke('sleep', { signal: ac.signal });
    await serverPipeline(pair);
    ac.abort();
    expect((await inv.result()).state).toBe('Stopped');
    await session.close();
  });
});

describe('PSSession over the memory transport: host calls', () => {
  it('Read-Host: a pipeline host call reaches the HostUi and its answer goes back as PIPELINE_HOST_RESPONSE', async () => {
    const hostUi = new RecordingHostUi({ answers: ['typed text'] });
    const { session, pair } = await open(undefined, { hostUi });
    const inv = session.invoke('Read-Host');
    const sp = await serverPipeline(pair);
    const callId = sp.hostCall(hostMethodId('ReadLine'), []);
    for (let i = 0; i < 500 && sp.hostResponses.length === 0; i++) await sleep(2);
    expect(sp.hostResponses).toHaveLength(1);
    expect(sp.hostResponses[0]).toMatchObject({
      callId,
      methodId: hostMethodId('ReadLine'),
      result: 'typed text',
    });
    expect(hostUi.records.some((r) => r.kind === 'ask' && r.member === 'ReadLine')).toBe(true);
    // A void call (WriteLine2) is shown and not answered.
    sp.hostCall(hostMethodId('WriteLine2'), ['hello'], true);
    sp.finish();
    await inv.result();
    expect(hostUi.text).toContain('hello\n');
    expect(sp.hostResponses).toHaveLength(1);
    expect(pair.server.violations).toEqual([]);
    await session.close();
  });

  it('a pool-level host call goes to the session HostUi and is answered as RUNSPACEPOOL_HOST_RESPONSE', async () => {
    const hostUi = new RecordingHostUi({ answers: ['pool answer'] });
    const { session, pair } = await open(undefined, { hostUi });
    const callId = pair.server.hostCall(hostMethodId('ReadLine'), []);
    for (let i = 0; i < 500 && pair.server.hostResponses.length === 0; i++) await sleep(2);
    expect(pair.server.hostResponses[0]).toMatchObject({ callId, result: 'pool answer' });
    expect(pair.server.received.at(-1)?.typeName).toBe('RUNSPACEPOOL_HOST_RESPONSE');
    expect(pair.server.violations).toEqual([]);
    await session.close();
  });

  it('a host call the HostUi cannot answer comes back as an error, not a hang', async () => {
    const { session, pair } = await open(); // no answers queued: a non-interactive host
    const inv = session.invoke('Read-Host');
    const sp = await serverPipeline(pair);
    sp.hostCall(hostMethodId('ReadLine'), []);
    for (let i = 0; i < 500 && sp.hostResponses.length === 0; i++) await sleep(2);
    expect(sp.hostResponses).toHaveLength(1);
    expect(sp.hostResponses[0]?.error).toBeDefined();
    expect(sp.hostResponses[0]?.result).toBeUndefined();
    sp.finish();
    await inv.result();
    await session.close();
  });
});

describe('PSSession over the memory transport: pool calls', () => {
  it('SET_MAX/MIN_RUNSPACES, GET_AVAILABLE_RUNSPACES, RESET_RUNSPACE_STATE: answered by call id', async () => {
    const asked: string[] = [];
    const { session, pair } = await open(undefined, {
      serverOptions: {
        onPoolCall: (name) => {
          asked.push(name);
          return name === 'GET_AVAILABLE_RUNSPACES' ? 3n : name !== 'SET_MIN_RUNSPACES';
        },
      },
    });
    const [max, min, avail, reset] = await Promise.all([
      session.setMaxRunspaces(4),
      session.setMinRunspaces(2),
      session.getAvailableRunspaces(),
      session.resetRunspaceState(),
    ]);
    expect([max, min, avail, reset]).toEqual([true, false, 3, true]);
    expect(asked).toEqual([
      'SET_MAX_RUNSPACES',
      'SET_MIN_RUNSPACES',
      'GET_AVAILABLE_RUNSPACES',
      'RESET_RUNSPACE_STATE',
    ]);
    expect(pair.server.violations).toEqual([]);
    await session.close();
  });

  it('a pool call the server never answers: PoolCallTimedOut after OperationTimeout, the session stays open', async () => {
    const transport = createMemoryTransport({ connection: { closeTimeoutMs: 50 } });
    const session = await openSession({
      transport,
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
      sessionOptions: { ...DEFAULT_SESSION_OPTIONS, operationTimeoutMs: 100 },
    });
    transport.pairOf(session)?.stopAnswering();
    const t0 = performance.now();
    const err = await rejection(session.getAvailableRunspaces());
    expect(isPSRemotingError(err)).toBe(true);
    expect(err?.errorId).toBe('PoolCallTimedOut');
    expect(err?.category).toBe('OperationTimeout');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(session.state).toBe('Opened');
    await session.close();
  });

  it('a pool call whose signal aborts rejects at once with OperationStopped', async () => {
    const { session, pair } = await open(undefined, { connection: { closeTimeoutMs: 50 } });
    pair.stopAnswering();
    const ac = new AbortController();
    const pending = rejection(session.setMaxRunspaces(2, { signal: ac.signal }));
    await sleep(10);
    ac.abort();
    const err = await pending;
    expect(err?.errorId).toBe('OperationStopped');
    expect(session.state).toBe('Opened');
    const already = await rejection(session.resetRunspaceState({ signal: ac.signal }));
    expect(already?.errorId).toBe('OperationStopped');
    await session.close();
  });

  it('a pool call still waiting when the session breaks fails with the reason', async () => {
    const { session, pair } = await open(undefined, { serverOptions: {} });
    pair.stopAnswering();
    const pending = rejection(session.getAvailableRunspaces());
    await sleep(10);
    pair.end({ stderr: 'gone' });
    const err = await pending;
    expect(err?.category).toBe('ConnectionError');
    expect(session.state).toBe('Broken');
  });
});

describe('PSSession over the memory transport: backpressure', () => {
  it('a slow consumer pauses the stream: the far end holds bytes back, then everything arrives in order', async () => {
    const N = 6000;
    const { session, pair } = await open(undefined, { highWaterMark: 4096, chunkSize: 4096 });
    const inv = session.invoke('1..6000');
    const sp = await serverPipeline(pair);
    for (let i = 1; i <= N; i++) sp.output(i);
    sp.finish();
    const it = inv.output()[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    // The consumer stops reading: the session's receive loop waits, the connection pauses its input, and the
    // Readable refuses more, so the far end keeps the rest.
    let delivered = -1;
    for (let i = 0; i < 100 && delivered !== pair.bytesDelivered; i++) {
      delivered = pair.bytesDelivered;
      await sleep(30);
    }
    expect(pair.bytesDelivered).toBe(delivered);
    expect(pair.stream.input.isPaused()).toBe(true);
    expect(pair.pendingBytes).toBeGreaterThan(0);
    const got = [1];
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value as number);
    expect(got.length).toBe(N);
    expect(got.every((v, i) => v === i + 1)).toBe(true);
    expect(pair.bytesDelivered).toBeGreaterThan(delivered);
    expect((await inv.result()).state).toBe('Completed');
    await session.close();
  });

  it('result() (no iteration) never pauses: a big result arrives whole', async () => {
    const { session } = await open((p) => {
      for (let i = 0; i < 3000; i++) p.output(i);
      p.finish();
    });
    const r = await session.invoke('0..2999').result();
    expect(r.output.length).toBe(3000);
    await session.close();
  });
});

describe('PSSession over the memory transport: Broken', () => {
  it('an abrupt end while a pipeline runs: the pipeline fails, Broken with a ConnectionError naming stderr', async () => {
    const { session, pair, table } = await open();
    const inv = session.invoke('while ($true) {}');
    await serverPipeline(pair);
    const states: string[] = [];
    session.onStateChange((s) => states.push(s));
    pair.end({ stderr: 'Process is terminating due to StackOverflowException.' });
    const err = await rejection(inv.result());
    await session.whenEnded;
    expect(isPSRemotingError(err)).toBe(true);
    expect(err?.errorId).toBe('PSRemotingTransportAbruptlyTerminated');
    expect(session.state).toBe('Broken');
    expect(states).toEqual(['Broken']);
    expect(session.reason?.category).toBe('ConnectionError');
    expect(session.reason?.message).toContain('StackOverflowException');
    expect(table.byId(session.id)?.info.state).toBe('Broken');
    expect(() => session.invoke('1')).toThrow(session.reason);
    // close after Broken: no throw, no Close packet to a dead server.
    await session.close();
    await session.close();
    expect(pair.fromClient.some((p) => p.kind === 'Close' && p.psGuid === EMPTY_GUID)).toBe(false);
    expect(session.state).toBe('Broken');
  });

  it('an abrupt end in the middle of a packet is the same ConnectionError', async () => {
    const { session, pair } = await open();
    pair.end({ partialLine: "<Data Stream='Default' PSGuid='" });
    await session.whenEnded;
    expect(session.state).toBe('Broken');
    expect(session.reason?.category).toBe('ConnectionError');
  });

  it('the server reports the pool Broken: the session is Broken with RemoteRunspacePoolBroken', async () => {
    const { session, pair } = await open();
    pair.server.poolState('Broken', { message: 'the runspace died', fullyQualifiedErrorId: 'Died' });
    await session.whenEnded;
    expect(session.state).toBe('Broken');
    expect(session.reason?.errorId).toBe('RemoteRunspacePoolBroken');
    expect(session.reason?.message).toBe('the runspace died');
    await session.close();
  });

  it('unreadable PSRP data from the server: Broken with a ProtocolError, never a throw', async () => {
    const { session, pair } = await open();
    pair.server.sendRaw(new Uint8Array(40).fill(0xff));
    await session.whenEnded;
    expect(session.state).toBe('Broken');
    expect(session.reason?.category).toBe('ProtocolError');
  });

  it('a stray line after the handshake breaks the session with a ProtocolError', async () => {
    const { session, pair } = await open();
    pair.injectLine('Welcome to the machine');
    await session.whenEnded;
    expect(session.state).toBe('Broken');
    expect(session.reason?.errorId).toBe('PsrpMalformedPacket');
  });

  it('banner lines before the first packet are ignored', async () => {
    const { session } = await open(undefined, { banner: ['Last login: today', 'motd'] });
    expect(session.state).toBe('Opened');
    await session.close();
  });
});

describe('PSSession over the memory transport: close', () => {
  it('close: one Close packet, CloseAck, Closed, idempotent; commands refused; the stream disposed once', async () => {
    const { session, pair, table } = await open();
    await Promise.all([session.close(), session.close()]);
    await session.close();
    expect(session.state).toBe('Closed');
    expect(session.availability).toBe('None');
    expect(pair.fromClient.filter((p) => p.kind === 'Close' && p.psGuid === EMPTY_GUID)).toHaveLength(1);
    expect(pair.toClient.filter((p) => p.kind === 'CloseAck')).toHaveLength(1);
    expect(pair.disposeCalls).toBe(1);
    expect(table.byId(session.id)?.info.state).toBe('Closed');
    let refused: unknown;
    try {
      session.invoke('1');
    } catch (e) {
      refused = e;
    }
    expect((refused as PSRemotingError).errorId).toBe('InvalidRunspaceState');
  });

  it('close while a pipeline runs: the pipeline ends Failed, the session Closed', async () => {
    const { session, pair } = await open();
    const inv = session.invoke('while ($true) {}');
    await serverPipeline(pair);
    await session.close();
    // The clean end of the transport fails the pool's pipelines: the command ends Failed, it does not hang.
    const r = await inv.result();
    expect(r.state).toBe('Failed');
    expect(session.state).toBe('Closed');
  });

  it('close against a server that no longer answers is bounded (closeTimeoutMs), then Closed', async () => {
    const { session, pair } = await open(undefined, { connection: { closeTimeoutMs: 50 } });
    pair.stopAnswering();
    const t0 = performance.now();
    await session.close();
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(session.state).toBe('Closed');
    expect(pair.disposeCalls).toBe(1);
  });
});

describe('PSSession over the memory transport: Ctrl+C (interrupt)', () => {
  it('interrupt: a Signal, the pipeline Stopped, the session kept', async () => {
    const { session, pair } = await open();
    const inv = session.invoke('while ($true) {}');
    await serverPipeline(pair);
    inv.interrupt();
    expect((await inv.result()).state).toBe('Stopped');
    expect(pair.fromClient.some((p) => p.kind === 'Signal' && p.psGuid === inv.pipelineId)).toBe(true);
    expect(session.state).toBe('Opened');
    await session.close();
  });

  it('a stop the server never answers: Broken within CancelTimeout, the transport torn down without Close', async () => {
    const { session, pair } = await open(undefined, { cancelTimeoutMs: 100 });
    const inv = session.invoke('while ($true) {}');
    const sp = await serverPipeline(pair);
    pair.withhold('SignalAck');
    sp.finish = () => {}; // the pipeline ignores the stop
    const t0 = performance.now();
    inv.interrupt();
    const err = await rejection(inv.result());
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(session.state).toBe('Broken');
    expect(err).toBe(session.reason);
    expect(isPSRemotingError(err)).toBe(true);
    expect(pair.fromClient.some((p) => p.kind === 'Close' && p.psGuid === EMPTY_GUID)).toBe(false);
    expect(pair.disposeCalls).toBe(1);
  });

  it('a second interrupt while the first is unanswered ends the session at once', async () => {
    const { session, pair } = await open();
    const inv = session.invoke('while ($true) {}');
    const sp = await serverPipeline(pair);
    pair.withhold('SignalAck');
    sp.finish = () => {};
    inv.interrupt();
    await pair.clientSent((p) => p.kind === 'Signal');
    inv.interrupt();
    const err = await rejection(inv.result());
    expect(err?.errorId).toBe('SessionEndedByInterrupt');
    expect(session.state).toBe('Broken');
  });
});

describe('PSSession over the memory transport: receive limits', () => {
  it('an object past MaximumReceivedObjectSize breaks the session with ReceivedObjectSizeExceededMaximumClient', async () => {
    const transport = createMemoryTransport({
      serverOptions: { onPipeline: (p) => p.output('z'.repeat(200_000)).finish() },
    });
    const session = await openSession({
      transport,
      hostUi: new RecordingHostUi(),
      table: new SessionTable(),
      sessionOptions: { ...DEFAULT_SESSION_OPTIONS, maximumReceivedObjectSize: 50_000 },
    });
    const err = await rejection(session.invoke('big').result());
    expect(err?.errorId).toBe('ReceivedObjectSizeExceededMaximumClient');
    expect(session.state).toBe('Broken');
  });
});

describe('PSSession over the memory transport: releasing finished pipelines before the close', () => {
  it('a pipeline that ends before its creation returned is still released, before the session Close', async () => {
    const { session, pair } = await open((p) => p.output(1).finish());
    // The first Data of the command is not acknowledged yet: createPipeline is still waiting when the
    // pipeline's output and Completed state arrive.
    pair.withhold('DataAck');
    const inv = session.invoke('1');
    const r = await inv.result();
    expect(r.state).toBe('Completed');
    const id = [...pair.server.pipelines.keys()][0] as string;
    expect(pair.fromClient.some((p) => p.kind === 'Close' && p.psGuid === id)).toBe(false);
    pair.answer('DataAck');
    pair.sendPacket({ kind: 'DataAck', psGuid: id });
    for (let i = 0; i < 200 && !pair.fromClient.some((p) => p.kind === 'Close' && p.psGuid === id); i++)
      await sleep(5);
    expect(pair.fromClient.some((p) => p.kind === 'Close' && p.psGuid === id)).toBe(true);
    await session.close();
    expect(session.state).toBe('Closed');
  });

  it('close right after the last result: every pipeline Close goes out before the session Close', async () => {
    const { session, pair } = await open((p) => p.output(1).finish());
    for (let i = 0; i < 10; i++) expect((await session.invoke(String(i)).result()).state).toBe('Completed');
    await session.close();
    const closes = pair.fromClient.filter((p) => p.kind === 'Close').map((p) => p.psGuid);
    expect(closes.at(-1)).toBe(EMPTY_GUID);
    expect(new Set(closes.slice(0, -1))).toEqual(new Set(pair.server.pipelines.keys()));
    expect(closes).toHaveLength(11);
  });

  it('a release that cannot go out (its creation never returns) delays the close by a bounded wait only', async () => {
    const { session, pair } = await open((p) => p.output(1).finish());
    pair.withhold('DataAck');
    expect((await session.invoke('1').result()).state).toBe('Completed');
    const started = Date.now();
    await session.close();
    expect(session.state).toBe('Closed');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('PSSession over the memory transport: host writes wait for a full terminal', () => {
  /** A HostUi whose terminal is full while `blocked`: drained() hands out a promise that settles at release(). */
  class FullTerminalHostUi extends RecordingHostUi {
    blocked = true;
    asked = 0;
    private waiting: (() => void)[] = [];
    drained(): Promise<void> | undefined {
      this.asked++;
      if (!this.blocked) return undefined;
      return new Promise((resolve) => this.waiting.push(resolve));
    }
    release(): void {
      this.blocked = false;
      for (const r of this.waiting.splice(0)) r();
    }
    get writes(): number {
      return this.records.filter((r) => r.kind === 'write').length;
    }
  }

  it('a flood of WriteLine host calls is read from the server only as fast as the terminal drains', async () => {
    const hostUi = new FullTerminalHostUi();
    const { session, pair } = await open(undefined, { hostUi });
    const inv = session.invoke('1..500 | Out-Default');
    const sp = await serverPipeline(pair);
    for (let i = 0; i < 500; i++) sp.hostCall(hostMethodId('WriteLine2'), [`line ${i}`], true);
    sp.finish();
    await sleep(100);
    // Held: the session stopped reading after the write that found the terminal full.
    const whileFull = hostUi.writes;
    expect(whileFull).toBeGreaterThan(0);
    expect(whileFull).toBeLessThan(500);
    await sleep(100);
    expect(hostUi.writes).toBe(whileFull);
    // Asked once: the writes that came in the same message did not each listen on the terminal again.
    expect(hostUi.asked).toBe(1);
    hostUi.release();
    expect((await inv.result()).state).toBe('Completed');
    expect(hostUi.writes).toBe(500);
    expect(hostUi.text).toContain('line 499\n');
    await session.close();
  });

  it('a HostUi that is never full is never waited for, and a failing drain does not stop the session', async () => {
    const hostUi = new FullTerminalHostUi();
    hostUi.blocked = false;
    const { session, pair } = await open(undefined, { hostUi });
    const inv = session.invoke('x');
    const sp = await serverPipeline(pair);
    for (let i = 0; i < 50; i++) sp.hostCall(hostMethodId('WriteLine2'), [`l${i}`], true);
    sp.finish();
    expect((await inv.result()).state).toBe('Completed');
    expect(hostUi.writes).toBe(50);
    hostUi.drained = () => Promise.reject(new Error('EPIPE'));
    const inv2 = session.invoke('y');
    const sp2 = await serverPipeline(pair, 1);
    for (let i = 0; i < 20; i++) sp2.hostCall(hostMethodId('WriteLine2'), [`m${i}`], true);
    sp2.finish();
    expect((await inv2.result()).state).toBe('Completed');
    expect(hostUi.writes).toBe(70);
    await session.close();
  });
});
