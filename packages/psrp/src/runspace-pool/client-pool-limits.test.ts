import { describe, expect, it } from 'vitest';
import { drain, openedPool, serverMessage } from '../../test/pool-harness.ts';
import type { PSObject } from '../clixml/value.ts';
import { FRAGMENT_HEADER_SIZE } from '../fragment/fragment.ts';
import { MessageType } from '../message/header.ts';
import type { ClientRunspacePool } from './client-pool.ts';

const script = { commands: [{ command: '1', isScript: true }] };

describe('MaximumReceivedObjectSize on the pool', () => {
  it("defaults to 10 MiB: a fragment declaring more breaks the pool at its header, with PowerShell's id", () => {
    const pool = openedPool();
    const p = pool.createPipeline(script);
    drain(pool);
    const header = Buffer.alloc(FRAGMENT_HEADER_SIZE);
    header.writeBigUInt64BE(500n, 0);
    header[16] = 3;
    header.writeUInt32BE(250_000_000, 17);
    pool.receiveData(p.pipelineId, header);
    const events = drain(pool);
    const err = events.find((e) => e.type === 'ProtocolError');
    expect(err?.type === 'ProtocolError' && err.error.errorId).toBe(
      'ReceivedObjectSizeExceededMaximumClient',
    );
    expect(err?.type === 'ProtocolError' && err.error.message).toMatch(
      /^The current deserialized object size of the data received from the remote server exceeded the allowed maximum object size\. The current deserialized object size is 250000021\. The allowed maximum object size is 10485760\.$/,
    );
    expect(pool.state).toBe('Broken');
    expect(p.state).toBe('Failed');
  });

  it('is an option (null: none); maxMessageSize is its former name', () => {
    const big = `<S>${'x'.repeat(11 << 20)}</S>`;
    const free = openedPool({ maxReceivedObjectSize: null });
    const p = free.createPipeline(script);
    drain(free);
    free.receiveData(p.pipelineId, serverMessage(free, MessageType.PIPELINE_OUTPUT, big, p.pipelineId));
    const out = drain(free);
    expect(out).toHaveLength(1);
    expect(out[0]?.type).toBe('PipelineOutput');
    const small = openedPool({ maxMessageSize: 1000 });
    const q = small.createPipeline(script);
    drain(small);
    small.receiveData(
      q.pipelineId,
      serverMessage(small, MessageType.PIPELINE_OUTPUT, `<S>${'x'.repeat(2000)}</S>`, q.pipelineId),
    );
    expect(drain(small).some((e) => e.type === 'ProtocolError')).toBe(true);
    expect(small.state).toBe('Broken');
  });
});

describe("a pipeline object limit apart from the pool's (PowerShell's OutOfProc client)", () => {
  it('pipeline output above 10 MiB passes with maxReceivedPipelineObjectSize null; a pool message that size does not', () => {
    const big = `<S>${'x'.repeat(11 << 20)}</S>`;
    const pool = openedPool({ maxReceivedPipelineObjectSize: null });
    const p = pool.createPipeline(script);
    drain(pool);
    pool.receiveData(p.pipelineId, serverMessage(pool, MessageType.PIPELINE_OUTPUT, big, p.pipelineId));
    expect(drain(pool).map((e) => e.type)).toEqual(['PipelineOutput']);
    pool.receiveData(null, serverMessage(pool, MessageType.USER_EVENT, big));
    const err = drain(pool).find((e) => e.type === 'ProtocolError');
    expect(err?.type === 'ProtocolError' && err.error.errorId).toBe(
      'ReceivedObjectSizeExceededMaximumClient',
    );
    expect(pool.state).toBe('Broken');
  });
});

describe('CLIXML nesting from the server', () => {
  it("49 levels are DeserializationTooDeep: a ProtocolError with PowerShell's id, the pool Broken", () => {
    const pool = openedPool();
    const p = pool.createPipeline(script);
    drain(pool);
    const deep = `${'<Obj RefId="0"><LST>'.repeat(49)}<I32>1</I32>${'</LST></Obj>'.repeat(49)}`;
    pool.receiveData(p.pipelineId, serverMessage(pool, MessageType.PIPELINE_OUTPUT, deep, p.pipelineId));
    const err = drain(pool).find((e) => e.type === 'ProtocolError');
    expect(err?.type === 'ProtocolError' && err.error.errorId).toBe('DeserializationTooDeep');
    expect(err?.type === 'ProtocolError' && err.error.message).toMatch(
      /Serialized XML is nested too deeply\./,
    );
    expect(pool.state).toBe('Broken');
  });
});

describe('MaximumReceivedDataSizePerCommand', () => {
  const output = (pool: ClientRunspacePool, pid: string, text: string) =>
    serverMessage(pool, MessageType.PIPELINE_OUTPUT, `<S>${text}</S>`, pid);

  it('is unlimited by default', () => {
    const pool = openedPool();
    const p = pool.createPipeline(script);
    drain(pool);
    for (let i = 0; i < 2000; i++)
      pool.receiveData(p.pipelineId, output(pool, p.pipelineId, 'x'.repeat(1000)));
    expect(drain(pool)).toHaveLength(2000);
    expect(p.state).toBe('Running');
  });

  it('fails only that pipeline, tells the session to stop it, drops its later data unread; the pool goes on', () => {
    const pool = openedPool({ maxReceivedDataSizePerCommand: 1000 });
    const a = pool.createPipeline(script);
    const b = pool.createPipeline(script);
    drain(pool);
    // Each message: 21 fragment header + 40 message header + "<S>" + 100 + "</S>" = 168 bytes on the wire.
    const one = output(pool, a.pipelineId, 'a'.repeat(100));
    expect(one.length).toBe(168);
    for (let i = 0; i < 5; i++) pool.receiveData(a.pipelineId, output(pool, a.pipelineId, 'a'.repeat(100)));
    expect(drain(pool).map((e) => e.type)).toEqual(Array(5).fill('PipelineOutput'));
    // The sixth makes 1008 > 1000.
    pool.receiveData(a.pipelineId, output(pool, a.pipelineId, 'a'.repeat(100)));
    const events = drain(pool);
    expect(events).toHaveLength(2);
    const [limit, state] = events;
    expect(limit).toMatchObject({
      type: 'PipelineReceiveLimitExceeded',
      pipelineId: a.pipelineId,
      received: 1008,
      limit: 1000,
    });
    expect(limit?.type === 'PipelineReceiveLimitExceeded' && limit.error.errorId).toBe(
      'ReceivedDataSizeExceededMaximumClient',
    );
    expect(limit?.type === 'PipelineReceiveLimitExceeded' && limit.error.message).toBe(
      'The total data received from the remote server exceeded the allowed maximum. The allowed maximum is 1000.',
    );
    expect(state).toMatchObject({ type: 'PipelineStateChanged', pipelineId: a.pipelineId, state: 'Failed' });
    expect(state?.type === 'PipelineStateChanged' && state.reason?.fullyQualifiedErrorId).toBe(
      'ReceivedDataSizeExceededMaximumClient',
    );
    expect(state?.type === 'PipelineStateChanged' && state.reason?.message).toMatch(
      /allowed maximum is 1000/,
    );
    expect(a.state).toBe('Failed');
    // Later data for it, even a body that is not CLIXML, is dropped without being read.
    pool.receiveData(
      a.pipelineId,
      serverMessage(pool, MessageType.PIPELINE_OUTPUT, '<<not xml', a.pipelineId),
    );
    pool.receiveData(
      a.pipelineId,
      serverMessage(
        pool,
        MessageType.PIPELINE_STATE,
        '<Obj RefId="0"><MS><I32 N="PipelineState">3</I32></MS></Obj>',
        a.pipelineId,
      ),
    );
    expect(drain(pool)).toEqual([]);
    expect(pool.state).toBe('Opened');
    // The other pipeline has its own count.
    for (let i = 0; i < 5; i++) pool.receiveData(b.pipelineId, output(pool, b.pipelineId, 'b'.repeat(100)));
    expect(drain(pool).map((e) => e.type)).toEqual(Array(5).fill('PipelineOutput'));
    expect(b.state).toBe('Running');
  });

  it('pool messages do not count', () => {
    const pool = openedPool({ maxReceivedDataSizePerCommand: 200 });
    const p = pool.createPipeline(script);
    drain(pool);
    for (let i = 0; i < 20; i++)
      pool.receiveData(null, serverMessage(pool, MessageType.USER_EVENT, `<S>${'e'.repeat(100)}</S>`));
    expect(drain(pool).every((e) => e.type === 'UserEvent')).toBe(true);
    expect(p.state).toBe('Running');
  });
});

describe('hostile values through the pool: cycles and shared references stay finite', () => {
  it('an ErrorRecord whose Exception is its own InnerException and whose ToString is its own base value', () => {
    const pool = openedPool();
    const p = pool.createPipeline(script);
    drain(pool);
    const body =
      '<Obj RefId="0"><MS><Obj N="Exception" RefId="1"><TN RefId="0"><T>System.Exception</T></TN><Ref RefId="1" /><Props><Ref N="InnerException" RefId="1" /><Ref N="Message" RefId="1" /></Props></Obj><Ref N="ErrorDetails_Message" RefId="0" /><Ref N="FullyQualifiedErrorId" RefId="1" /></MS><Ref RefId="0" /></Obj>';
    pool.receiveData(p.pipelineId, serverMessage(pool, MessageType.ERROR_RECORD, body, p.pipelineId));
    const [ev] = drain(pool);
    expect(ev?.type).toBe('ErrorRecord');
    if (ev?.type !== 'ErrorRecord') return;
    expect(typeof ev.record.message).toBe('string');
    expect(ev.record.fullyQualifiedErrorId).toBe('System.Exception');
    expect(ev.record.exceptionTypeName).toBe('System.Exception');
  });

  it('informational, information and progress records and a host call built of self-references', () => {
    const pool = openedPool();
    const p = pool.createPipeline(script);
    drain(pool);
    const self =
      '<Obj RefId="0"><MS><Ref N="InformationalRecord_Message" RefId="0" /><Ref N="MessageData" RefId="0" /><Ref N="Tags" RefId="0" /><Ref N="Activity" RefId="0" /></MS><Ref RefId="0" /></Obj>';
    for (const t of [MessageType.WARNING_RECORD, MessageType.INFORMATION_RECORD, MessageType.PROGRESS_RECORD])
      pool.receiveData(p.pipelineId, serverMessage(pool, t, self, p.pipelineId));
    const host =
      '<Obj RefId="0"><MS><I64 N="ci">5</I64><Obj N="mi" RefId="1"><TN RefId="0"><T>System.Management.Automation.Remoting.RemoteHostMethodId</T></TN><ToString>Prompt</ToString><I32>23</I32></Obj><Obj N="mp" RefId="2"><LST><Ref RefId="2" /><Ref RefId="0" /><Obj RefId="3"><LST><Ref RefId="3" /><Ref RefId="2" /></LST></Obj></LST></Obj></MS></Obj>';
    pool.receiveData(p.pipelineId, serverMessage(pool, MessageType.PIPELINE_HOST_CALL, host, p.pipelineId));
    const events = drain(pool);
    expect(events.map((e) => e.type)).toEqual([
      'InformationalRecord',
      'InformationRecord',
      'ProgressRecord',
      'HostCall',
    ]);
    const call = events[3];
    expect(call?.type === 'HostCall' && call.call.decoded.method).toBe('Prompt');
    expect(pool.state).toBe('Opened');
    // The values stay the shared objects the server sent (a Ref is the same object, as in PowerShell).
    const raw = events[0]?.type === 'InformationalRecord' ? (events[0].raw as PSObject) : undefined;
    expect(raw?.baseValue).toBe(raw);
  });
});
