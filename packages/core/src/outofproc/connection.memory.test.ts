import { EMPTY_GUID, encodePacket } from '@psremote/psrp';
import { describe, expect, it } from 'vitest';
import { isPSRemotingError, PSRemotingError } from '../errors/ps-remoting-error.ts';
import { type MemoryOutOfProcOptions, MemoryOutOfProcPair } from '../testing/memory-transport.ts';
import type { PsrpPayload, TransportConnection } from '../transport/contract.ts';
import { createOutOfProcConnection, type OutOfProcConnectionOptions } from './connection.ts';

const PID = '0b0c0d0e-0000-4000-8000-000000000001';
const PID2 = '0b0c0d0e-0000-4000-8000-000000000002';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The connection over a pair whose server is never spoken to through PSRP: these tests drive OutOfProc only, so
 * Data the client sends reaches the fake server as bytes it cannot read (collected in its violations, ignored).
 */
function setup(
  pairOptions: MemoryOutOfProcOptions = {},
  options: OutOfProcConnectionOptions = {},
): { pair: MemoryOutOfProcPair; conn: TransportConnection; warnings: string[] } {
  const pair = new MemoryOutOfProcPair({ description: 'memory test peer', ...pairOptions });
  const warnings: string[] = [];
  const conn = createOutOfProcConnection(pair.stream, {
    log: { debug() {}, warn: (m: string) => warnings.push(m) },
    ...options,
  });
  return { pair, conn, warnings };
}

const data = (pipelineId: string | null, text: string): PsrpPayload => ({
  pipelineId,
  stream: 'Default',
  data: Buffer.from(text),
});

/** Collects what receive() yields until it ends, and how it ended. */
function collect(conn: TransportConnection): { items: PsrpPayload[]; end: Promise<unknown> } {
  const items: PsrpPayload[] = [];
  const end = (async () => {
    for await (const p of conn.receive()) items.push(p);
    return 'clean';
  })().catch((e: unknown) => e);
  return { items, end };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await sleep(20);
  return done;
};

describe('OutOfProc connection over the memory pair: acknowledgements', () => {
  it('send resolves only on the DataAck for its guid', async () => {
    const { pair, conn } = setup();
    pair.withhold('DataAck');
    const sent = conn.send(data(null, 'one'));
    await pair.clientSent((p) => p.kind === 'Data');
    expect(await settled(sent)).toBe(false);
    pair.sendPacket({ kind: 'DataAck', psGuid: PID }); // another guid's ack settles nothing
    expect(await settled(sent)).toBe(false);
    pair.sendPacket({ kind: 'DataAck', psGuid: EMPTY_GUID });
    await sent;
    await conn.close();
  });

  it('Data is lock-step per guid: the second waits for the first DataAck; another guid does not', async () => {
    const { pair, conn } = setup();
    pair.withhold('DataAck');
    const a1 = conn.send(data(PID, 'a1'));
    const a2 = conn.send(data(PID, 'a2'));
    const b1 = conn.send(data(PID2, 'b1'));
    await pair.clientSent((p) => p.kind === 'Data' && p.psGuid === PID2);
    await sleep(10);
    const texts = () =>
      pair.fromClient.flatMap((p) => (p.kind === 'Data' ? [Buffer.from(p.data).toString()] : []));
    expect(texts()).toEqual(['a1', 'b1']);
    pair.sendPacket({ kind: 'DataAck', psGuid: PID });
    await a1;
    await pair.clientSent((p) => p.kind === 'Data' && Buffer.from(p.data).toString() === 'a2');
    expect(texts()).toEqual(['a1', 'b1', 'a2']);
    pair.answer('DataAck');
    pair.sendPacket({ kind: 'DataAck', psGuid: PID });
    pair.sendPacket({ kind: 'DataAck', psGuid: PID2 });
    await Promise.all([a2, b1]);
    // The far end checks the lock-step too.
    expect(pair.violations.filter((v) => v.startsWith('Data for'))).toEqual([]);
    await conn.close();
  });

  it('createPipeline: Command, then its first Data only after CommandAck', async () => {
    const { pair, conn } = setup();
    pair.withhold('CommandAck');
    const created = conn.createPipeline(PID, data(PID, 'first'));
    await pair.clientSent((p) => p.kind === 'Command');
    await sleep(10);
    expect(pair.fromClient.map((p) => p.kind)).toEqual(['Command']);
    pair.sendPacket({ kind: 'CommandAck', psGuid: PID });
    await created;
    expect(pair.fromClient.map((p) => `${p.kind}:${p.psGuid}`)).toEqual([`Command:${PID}`, `Data:${PID}`]);
    await conn.close();
  });

  it('stopPipeline: a Signal; an unanswered one fails with PSRemotingAckTimeout after ackTimeoutMs', async () => {
    const { pair, conn } = setup({}, { ackTimeoutMs: 40 });
    await conn.stopPipeline(PID);
    expect(pair.fromClient.at(-1)).toEqual({ kind: 'Signal', psGuid: PID });
    pair.withhold('SignalAck');
    const err = await conn.stopPipeline(PID).catch((e: unknown) => e);
    expect(isPSRemotingError(err) && err.errorId).toBe('PSRemotingAckTimeout');
    expect((err as PSRemotingError).category).toBe('OperationTimeout');
    await conn.close();
  });

  it('closePipeline waits for the CloseAck of its guid; an unexpected ack is ignored', async () => {
    const { pair, conn } = setup();
    pair.sendPacket({ kind: 'CloseAck', psGuid: PID2 }); // nobody waits for it: logged, not fatal
    await conn.closePipeline(PID);
    expect(pair.fromClient.at(-1)).toEqual({ kind: 'Close', psGuid: PID });
    await conn.send(data(PID, 'still usable'));
    await conn.close();
  });
});

describe('OutOfProc connection over the memory pair: incoming', () => {
  it('Data packets become payloads, pool data as null, whatever the chunk boundaries', async () => {
    const { pair, conn } = setup({ chunkSize: 'random', seed: 3 });
    const got = collect(conn);
    for (let i = 0; i < 40; i++)
      pair.sendPacket({
        kind: 'Data',
        stream: 'Default',
        psGuid: i % 2 ? PID : EMPTY_GUID,
        data: Buffer.from(`m${i}`),
      });
    await pair.flushed();
    await sleep(10);
    expect(got.items.map((p) => `${p.pipelineId ?? 'pool'}:${Buffer.from(p.data).toString()}`)).toEqual(
      Array.from({ length: 40 }, (_, i) => `${i % 2 ? PID : 'pool'}:m${i}`),
    );
    await conn.close();
    expect(await got.end).toBe('clean');
  });

  it('stray lines before the first packet are logged and skipped; after one, a ProtocolError', async () => {
    const { pair, conn, warnings } = setup({ banner: ['Welcome!', '', 'motd line'] });
    const got = collect(conn);
    pair.sendPacket({ kind: 'Data', stream: 'Default', psGuid: EMPTY_GUID, data: Buffer.from('x') });
    pair.injectLine('noise after the handshake');
    const err = await got.end;
    expect(warnings).toEqual(['memory test peer: Welcome!', 'memory test peer: motd line']);
    expect(got.items).toHaveLength(1);
    expect(isPSRemotingError(err) && err.category).toBe('ProtocolError');
    expect((err as PSRemotingError).errorId).toBe('PsrpMalformedPacket');
    expect((err as PSRemotingError).message).toContain('noise after the handshake');
    expect(pair.disposeCalls).toBe(1);
  });

  it('a packet only a client sends (Command) is a ProtocolError', async () => {
    const { pair, conn } = setup();
    const got = collect(conn);
    pair.sendPacket({ kind: 'Command', psGuid: PID });
    const err = await got.end;
    expect((err as PSRemotingError).category).toBe('ProtocolError');
    expect((err as PSRemotingError).message).toMatch(/Command packet, which only a client sends/);
  });

  it('an error line with the stream prefix is IPCServerProcessReportedError', async () => {
    const { pair, conn } = setup({ errorLinePrefix: '__NamedPipeError__:' });
    const got = collect(conn);
    pair.injectLine('__NamedPipeError__: the subsystem failed');
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('IPCServerProcessReportedError');
    expect(err.message).toContain('the subsystem failed');
  });

  it('the stream prefix is matched ignoring case, as PowerShell matches the Hyper-V one', async () => {
    const { pair, conn } = setup({ errorLinePrefix: '__HyperVSocketError__:' });
    const got = collect(conn);
    pair.injectLine('__hypervsocketerror__: the VM went away');
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('IPCServerProcessReportedError');
    expect(err.message).toContain('the VM went away');
  });

  it('a line past maxReceivedObjectSize is refused as it arrives, not buffered whole', async () => {
    const { pair, conn } = setup({ chunkSize: 1024 }, { maxReceivedObjectSize: 1000 });
    const got = collect(conn);
    pair.injectBytes(`<Data Stream='Default' PSGuid='${EMPTY_GUID}'>${'A'.repeat(100_000)}`);
    const err = (await got.end) as PSRemotingError;
    expect(isPSRemotingError(err)).toBe(true);
    // Refused long before the 100 KB line could end.
    expect(pair.bytesDelivered).toBeLessThan(20_000);
  });

  it('stderr text is logged as it comes', async () => {
    const { pair, conn, warnings } = setup();
    pair.writeStderr('warning: low disk\nsecond line\n');
    await sleep(10);
    expect(warnings).toEqual([
      'memory test peer stderr: warning: low disk',
      'memory test peer stderr: second line',
    ]);
    await conn.close();
  });

  it('backpressure: above receiveHighWaterMark the input is paused; draining resumes it', async () => {
    const { pair, conn } = setup({ highWaterMark: 256, chunkSize: 256 }, { receiveHighWaterMark: 4 });
    for (let i = 0; i < 200; i++)
      pair.sendPacket({ kind: 'Data', stream: 'Default', psGuid: EMPTY_GUID, data: Buffer.from(`p${i}`) });
    let delivered = -1;
    for (let i = 0; i < 100 && delivered !== pair.bytesDelivered; i++) {
      delivered = pair.bytesDelivered;
      await sleep(20);
    }
    expect(pair.stream.input.isPaused()).toBe(true);
    expect(pair.pendingBytes).toBeGreaterThan(0);
    const seen: string[] = [];
    for await (const p of conn.receive()) {
      seen.push(Buffer.from(p.data).toString());
      if (seen.length === 200) break;
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => `p${i}`));
    expect(pair.stream.input.isPaused()).toBe(false);
    await conn.close();
  });
});

describe('OutOfProc connection over the memory pair: the end', () => {
  it('an abrupt end: receive fails with a ConnectionError carrying stderr; a send in flight is rejected', async () => {
    const { pair, conn } = setup({}, { abruptEndErrorId: 'SSHAbruptlyTerminated' });
    const got = collect(conn);
    pair.withhold('DataAck');
    const inFlight = conn.send(data(null, 'x')).catch((e: unknown) => e);
    await pair.clientSent((p) => p.kind === 'Data');
    pair.end({ stderr: 'bash: pwsh: command not found' });
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('SSHAbruptlyTerminated');
    expect(err.category).toBe('ConnectionError');
    expect(err.message).toContain('bash: pwsh: command not found');
    expect(await inFlight).toBe(err);
    expect(pair.disposeCalls).toBe(1);
    // Later calls fail at once with the same reason; close does not write to the dead stream.
    await expect(conn.send(data(null, 'y'))).rejects.toBe(err);
    await conn.close();
    expect(pair.fromClient.some((p) => p.kind === 'Close')).toBe(false);
  });

  it('an end mid-packet is an abrupt end too (the half line is never decoded)', async () => {
    const { pair, conn } = setup({ chunkSize: 7 });
    const got = collect(conn);
    pair.sendPacket({ kind: 'Data', stream: 'Default', psGuid: EMPTY_GUID, data: Buffer.from('whole') });
    pair.end({
      partialLine: encodePacket({
        kind: 'Data',
        stream: 'Default',
        psGuid: EMPTY_GUID,
        data: Buffer.from('half'),
      }).slice(0, 30),
    });
    const err = (await got.end) as PSRemotingError;
    expect(got.items.map((p) => Buffer.from(p.data).toString())).toEqual(['whole']);
    expect(err.errorId).toBe('PSRemotingTransportAbruptlyTerminated');
  });

  it('explainEnd names an early end from what the server wrote, and whether a packet came', async () => {
    const calls: [string, boolean][] = [];
    const { pair, conn } = setup(
      {},
      {
        explainEnd: (stderr, sawPacket) => {
          calls.push([stderr, sawPacket]);
          return new PSRemotingError('no PowerShell in the container', {
            errorId: 'PowerShellNotFound',
            category: 'OpenError',
          });
        },
      },
    );
    const got = collect(conn);
    pair.end({ stderr: 'exec: "pwsh": executable file not found' });
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('PowerShellNotFound');
    expect(calls).toEqual([['exec: "pwsh": executable file not found', false]]);
  });

  it('a read error of the stream is a ConnectionError naming the peer', async () => {
    const { pair, conn } = setup();
    const got = collect(conn);
    pair.destroy(new Error('ECONNRESET'));
    const err = (await got.end) as PSRemotingError;
    expect(err.category).toBe('ConnectionError');
    expect(err.message).toBe('reading from memory test peer failed: ECONNRESET');
  });

  it('a silent server: connectingTimeoutMs fails the connection with OperationTimeout', async () => {
    const { pair, conn } = setup({}, { connectingTimeoutMs: 30 });
    pair.stopAnswering();
    const got = collect(conn);
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('PSRemotingConnectTimeout');
    expect(err.category).toBe('OperationTimeout');
  });

  it('an aborted signal fails the connection with OperationStopped and disposes the stream', async () => {
    const ac = new AbortController();
    const { pair, conn } = setup({}, { signal: ac.signal });
    const got = collect(conn);
    ac.abort();
    const err = (await got.end) as PSRemotingError;
    expect(err.errorId).toBe('OperationStopped');
    await sleep(5);
    expect(pair.disposeCalls).toBe(1);
  });
});

describe('OutOfProc connection over the memory pair: close', () => {
  it('close is idempotent: one Close for the session, receive ends cleanly, dispose once', async () => {
    const { pair, conn } = setup();
    const got = collect(conn);
    await Promise.all([conn.close(), conn.close()]);
    await conn.close();
    expect(pair.fromClient.filter((p) => p.kind === 'Close')).toEqual([
      { kind: 'Close', psGuid: EMPTY_GUID },
    ]);
    expect(await got.end).toBe('clean');
    expect(pair.disposeCalls).toBe(1);
  });

  // Found by this suite: after a clean close, send() used to write to the closed stream and wait for a DataAck that
  // could never come. A late host response could do that; it now fails at once.
  it('a send after close fails at once instead of hanging', async () => {
    const { conn } = setup();
    await conn.close();
    const late = conn.send(data(null, 'late'));
    late.catch(() => {});
    expect(await settled(late)).toBe(true);
    await expect(late).rejects.toMatchObject({ errorId: 'PSRemotingTransportClosed' });
    await expect(conn.stopPipeline('00000000-0000-0000-0000-000000000001')).rejects.toMatchObject({
      errorId: 'PSRemotingTransportClosed',
    });
  });

  it('close against a server that never acknowledges is bounded by closeTimeoutMs', async () => {
    const { pair, conn } = setup({}, { closeTimeoutMs: 40 });
    pair.withhold('CloseAck');
    const t0 = performance.now();
    await conn.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(pair.disposeCalls).toBe(1);
  });

  it('abort tears down at once: no Close, receive fails with the reason, waiters rejected', async () => {
    const { pair, conn } = setup();
    const got = collect(conn);
    pair.withhold('SignalAck');
    const stopping = conn.stopPipeline(PID).catch((e: unknown) => e);
    await pair.clientSent((p) => p.kind === 'Signal');
    const reason = new PSRemotingError('interrupted twice', {
      errorId: 'SessionEndedByInterrupt',
      category: 'OperationStopped',
    });
    conn.abort?.(reason);
    expect(await got.end).toBe(reason);
    expect(await stopping).toBe(reason);
    expect(pair.fromClient.some((p) => p.kind === 'Close')).toBe(false);
    await conn.close();
    expect(pair.disposeCalls).toBe(1);
  });
});
