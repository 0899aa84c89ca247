import { encodePacket, type OutOfProcPacket, type testing } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { openSession } from '../session/open-session.ts';
import { SessionTable } from '../session/session-table.ts';
import { TransportPluginToken } from '../transport/tokens.ts';
import { transportConformanceChecks } from './conformance.ts';
import { createMemoryTransport, MemoryOutOfProcPair, registerMemoryTransport } from './memory-transport.ts';

type FakePipeline = testing.FakePipeline;

/** Just enough PowerShell for the conformance kit's scripts. */
function kitScript(p: FakePipeline): void {
  const script = p.spec.commands[0]?.command ?? '';
  if (script === '1..5') {
    for (let i = 1; i <= 5; i++) p.output(i);
    p.finish();
  } else if (script.startsWith('$input')) {
    // Answered once the input has ended (kitInput).
  } else if (script.startsWith('# ')) {
    p.output('x'.repeat(1_500_000));
    for (let i = 1; i <= 50_000; i++) p.output(i);
    p.finish();
  } else if (script.startsWith('Write-Error')) {
    p.error({
      message: 'kit-err',
      fullyQualifiedErrorId: 'KitId,Microsoft.PowerShell.Commands.WriteErrorCommand',
    });
    p.warning('kit-warn').output('after').finish();
  } else if (script.startsWith('throw')) {
    p.finish('Failed', { message: 'kit-throw', fullyQualifiedErrorId: 'kit-throw' });
  } else if (script === '6*7') {
    p.output(42).finish();
  } else if (script === '$PID') {
    p.output(4242).finish();
  } else if (!script.startsWith('while')) {
    p.finish('Failed', { message: `no script for ${script}`, fullyQualifiedErrorId: 'NoScript' });
  }
}

function kitInput(_packet: OutOfProcPacket, pair: MemoryOutOfProcPair): void {
  for (const p of pair.server.pipelines.values()) {
    if (p.state !== 'Running' || !p.inputEnded || !p.spec.commands[0]?.command.startsWith('$input')) continue;
    for (const v of p.input) p.output((v as number) * 2);
    p.finish();
  }
}

describe('the transport conformance kit on the memory transport', () => {
  const transport = createMemoryTransport({
    serverOptions: { onPipeline: kitScript },
    afterPacket: kitInput,
  });
  const checks = transportConformanceChecks({
    open: () => openSession({ transport, hostUi: new RecordingHostUi(), table: new SessionTable() }),
    kills: {
      // A kill is an abrupt end of the stream: EOF with what was still queued lost.
      'the memory server is ended abruptly': (s) => transport.pairOf(s)?.end({ discardPending: true }),
      'the memory stream fails': (s) => transport.pairOf(s)?.destroy(new Error('ECONNRESET')),
    },
  });
  for (const c of checks) it(c.name, c.run, 30_000);

  it('the same checks pass when every packet is cut at random boundaries', async () => {
    const chunked = createMemoryTransport({
      serverOptions: { onPipeline: kitScript },
      afterPacket: kitInput,
      chunkSize: 'random',
      seed: 7,
    });
    const open = () =>
      openSession({ transport: chunked, hostUi: new RecordingHostUi(), table: new SessionTable() });
    for (const c of transportConformanceChecks({ open })) {
      if (c.name.startsWith('large data')) continue; // 2 MB in 49-byte chunks: slow, and proves nothing more
      await c.run();
    }
    expect(chunked.pairs.length).toBeGreaterThan(3);
    expect(chunked.pairs.every((p) => p.violations.length === 0 && p.server.violations.length === 0)).toBe(
      true,
    );
  });
});

describe('MemoryOutOfProcPair', () => {
  it('cuts what it delivers at the chunk size, across packets, and counts the bytes', async () => {
    const pair = new MemoryOutOfProcPair({ chunkSize: 5 });
    const chunks: Buffer[] = [];
    pair.stream.input.on('data', (c: Buffer) => chunks.push(c));
    pair.injectLine('hello world');
    pair.sendPacket({ kind: 'DataAck', psGuid: '00000000-0000-0000-0000-000000000000' });
    await pair.flushed();
    const text = `hello world\n${encodePacket({ kind: 'DataAck', psGuid: '00000000-0000-0000-0000-000000000000' })}\n`;
    expect(Buffer.concat(chunks).toString()).toBe(text);
    expect(chunks.every((c) => c.length <= 5)).toBe(true);
    expect(chunks.length).toBe(Math.ceil(text.length / 5));
    expect(pair.bytesDelivered).toBe(text.length);
  });

  it('ends with stderr, delivering what was queued first unless told to discard it; dispose counts', async () => {
    const pair = new MemoryOutOfProcPair();
    let text = '';
    let stderr = '';
    pair.stream.input.on('data', (c: Buffer) => {
      text += c.toString();
    });
    pair.stream.errors?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const ended = new Promise((r) => pair.stream.input.once('end', r));
    pair.injectLine('queued');
    pair.end({ stderr: 'fatal: gone', partialLine: "<Data Stream='Def" });
    await ended;
    expect(text).toBe("queued\n<Data Stream='Def");
    expect(stderr).toBe('fatal: gone');
    expect(pair.isEnded).toBe(true);
    await pair.stream.dispose();
    await pair.stream.dispose();
    expect(pair.disposeCalls).toBe(2);
  });

  it('latencyMs holds each chunk back that long', async () => {
    const pair = new MemoryOutOfProcPair({ latencyMs: 40 });
    pair.stream.input.on('data', () => {});
    const t0 = performance.now();
    pair.injectLine('late');
    await new Promise((r) => setTimeout(r, 10));
    expect(pair.bytesDelivered).toBe(0);
    await pair.flushed();
    expect(pair.bytesDelivered).toBe(5);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it('a session works over a slow, finely chunked stream', async () => {
    const transport = createMemoryTransport({
      serverOptions: { onPipeline: kitScript },
      latencyMs: 1,
      chunkSize: 64,
    });
    const s = await openSession({ transport, hostUi: new RecordingHostUi(), table: new SessionTable() });
    expect((await s.invoke('1..5').result()).output).toEqual([1, 2, 3, 4, 5]);
    await s.close();
    expect(s.state).toBe('Closed');
  });

  it('flags a second Data for a guid sent before the DataAck of the first', () => {
    const pair = new MemoryOutOfProcPair();
    pair.withhold('DataAck');
    const line = `${encodePacket({ kind: 'Data', stream: 'Default', psGuid: '00000000-0000-0000-0000-000000000000', data: Buffer.from('x') })}\n`;
    pair.stream.output.write(line);
    expect(pair.violations.filter((v) => v.startsWith('Data for'))).toEqual([]);
    pair.stream.output.write(line);
    expect(pair.violations.filter((v) => v.startsWith('Data for'))).toHaveLength(1);
  });

  it('records what the client sends and flags a packet only a server sends', () => {
    const pair = new MemoryOutOfProcPair();
    pair.stream.output.write(
      `${encodePacket({ kind: 'SignalAck', psGuid: '00000000-0000-0000-0000-000000000000' })}\n`,
    );
    pair.stream.output.write('not a packet\n');
    expect(pair.fromClient.map((p) => p.kind)).toEqual(['SignalAck']);
    expect(pair.violations).toHaveLength(2);
    expect(pair.violations[0]).toMatch(/SignalAck packet, which only a server sends/);
  });
});

describe('registerMemoryTransport', () => {
  it('registers the transport under TransportPluginToken with useValue', () => {
    const registered: [symbol, unknown][] = [];
    const t = registerMemoryTransport({
      register: (token, provider) => registered.push([token, provider.useValue]),
    });
    expect(registered).toEqual([[TransportPluginToken, t]]);
    expect(t.name).toBe('memory');
    expect(t.resolveTarget({ parameterSet: 'ComputerName', bound: {} }, {}).computerName).toBe('memory');
  });
});
