import { describe, expect, it } from 'vitest';
import { drain, openedPool, serverMessage } from '../../test/pool-harness.ts';
import { deserializeClixml } from '../clixml/deserialize.ts';
import type { PSObject } from '../clixml/value.ts';
import { fragmentMessage } from '../fragment/fragment.ts';
import { EMPTY_GUID } from '../guid.ts';
import { decodeMessage, MessageType } from '../message/header.ts';
import { ClientRunspacePool } from './client-pool.ts';

describe('ClientRunspacePool', () => {
  it('opens with SESSION_CAPABILITY 2.3 then INIT_RUNSPACEPOOL, and negotiates the lower version', () => {
    const pool = new ClientRunspacePool({ maxFragmentSize: 32768 });
    pool.open();
    const first = pool.dataToSend();
    const second = pool.dataToSend();
    expect(pool.dataToSend()).toBeUndefined();
    const m1 = decodeMessage((first as { data: Uint8Array }).data.subarray(21));
    const m2 = decodeMessage((second as { data: Uint8Array }).data.subarray(21));
    expect(m1.messageType).toBe(MessageType.SESSION_CAPABILITY);
    expect(m2.messageType).toBe(MessageType.INIT_RUNSPACEPOOL);
    const cap = deserializeClixml(Buffer.from(m1.data).toString()) as PSObject;
    expect(String(cap.get('protocolversion'))).toBe('2.3');
    const init = deserializeClixml(Buffer.from(m2.data).toString()) as PSObject;
    expect(init.get('MinRunspaces')).toBe(1);
    expect((init.get('HostInfo') as PSObject).get('_isHostUINull')).toBe(false);
    pool.receiveData(
      null,
      serverMessage(
        pool,
        MessageType.SESSION_CAPABILITY,
        '<Obj RefId="0"><MS><Version N="protocolversion">2.4</Version></MS></Obj>',
      ),
    );
    expect(pool.state).toBe('NegotiationSucceeded');
    expect(pool.negotiatedProtocolVersion).toBe('2.3');
  });

  it('builds the interactive CREATE_PIPELINE with Out-Default and the merge values of PowerShell', () => {
    const pool = openedPool();
    drain(pool);
    while (pool.dataToSend());
    const p = pool.createPipeline({
      commands: [
        { command: 'Get-Date', isScript: true, mergeMyResult: 2, mergeToResult: 1, mergeError: 1 },
        { command: 'Out-Default', useLocalScope: true, mergePreviousResults: 3 },
      ],
      addToHistory: true,
      history: 'Get-Date',
    });
    const out = pool.dataToSend();
    expect(out?.createsPipeline).toBe(true);
    expect(out?.pipelineId).toBe(p.pipelineId);
    const m = decodeMessage((out as { data: Uint8Array }).data.subarray(21));
    expect(m.messageType).toBe(MessageType.CREATE_PIPELINE);
    const body = deserializeClixml(Buffer.from(m.data).toString()) as PSObject;
    const cmds = (
      ((body.get('PowerShell') as PSObject).get('Cmds') as PSObject).baseValue as { items: PSObject[] }
    ).items;
    expect(cmds.map((c) => c.get('Cmd'))).toEqual(['Get-Date', 'Out-Default']);
    expect(String((cmds[0] as PSObject).get('MergeMyResult'))).toBe('Error');
    expect(((cmds[0] as PSObject).get('MergeToResult') as PSObject).baseValue).toBe(1);
    expect(((cmds[1] as PSObject).get('MergePreviousResults') as PSObject).baseValue).toBe(3);
    expect((cmds[1] as PSObject).get('UseLocalScope')).toBe(true);
    expect((body.get('PowerShell') as PSObject).get('History')).toBe('Get-Date');
  });

  it.each([
    [
      'a truncated fragment header followed by garbage',
      () => Buffer.from('00000000000000010000000000000000ff7fffffff', 'hex'),
    ],
    ['an unknown message type', (pool: ClientRunspacePool) => serverMessage(pool, 0x00077777, '<S>x</S>')],
    [
      'malformed XML',
      (pool: ClientRunspacePool) =>
        serverMessage(
          pool,
          MessageType.RUNSPACEPOOL_STATE,
          '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32>',
        ),
    ],
    [
      'a message for the server',
      (pool: ClientRunspacePool) =>
        serverMessage(pool, MessageType.RUNSPACEPOOL_STATE, '<Obj/>', EMPTY_GUID, 2),
    ],
    [
      'a state message without a state',
      (pool: ClientRunspacePool) =>
        serverMessage(pool, MessageType.RUNSPACEPOOL_STATE, '<Obj RefId="0"><MS /></Obj>'),
    ],
    [
      'a depth bomb',
      (pool: ClientRunspacePool) =>
        serverMessage(pool, MessageType.APPLICATION_PRIVATE_DATA, `${'<Obj><MS>'.repeat(400)}`),
    ],
  ])('%s: a ProtocolError event, the pool Broken, pipelines Failed, nothing thrown', (_name, make) => {
    const pool = openedPool();
    const p = pool.createPipeline({ commands: [{ command: '1', isScript: true }] });
    drain(pool);
    expect(() => pool.receiveData(null, make(pool))).not.toThrow();
    const events = drain(pool);
    expect(events.some((e) => e.type === 'ProtocolError')).toBe(true);
    expect(pool.state).toBe('Broken');
    expect(p.state).toBe('Failed');
    expect(() => pool.receiveData(null, Buffer.from('more'))).not.toThrow();
  });

  it('refuses an oversized object without buffering it', () => {
    const pool = new ClientRunspacePool({ maxMessageSize: 64 * 1024 });
    pool.open();
    const big = serverMessage(pool, MessageType.PIPELINE_OUTPUT, `<S>${'x'.repeat(200_000)}</S>`);
    pool.receiveData(null, big.subarray(0, 100_000));
    expect(drain(pool).some((e) => e.type === 'ProtocolError')).toBe(true);
    expect(pool.state).toBe('Broken');
  });

  it('delivers output, records and the final state of a pipeline', () => {
    const pool = openedPool();
    const p = pool.createPipeline({ commands: [{ command: '1..2', isScript: true }] });
    drain(pool);
    pool.receiveData(
      p.pipelineId,
      serverMessage(pool, MessageType.PIPELINE_OUTPUT, '<I32>1</I32>', p.pipelineId),
    );
    pool.receiveData(
      p.pipelineId,
      serverMessage(
        pool,
        MessageType.WARNING_RECORD,
        '<Obj RefId="0"><MS><S N="InformationalRecord_Message">careful</S></MS></Obj>',
        p.pipelineId,
      ),
    );
    pool.receiveData(
      p.pipelineId,
      serverMessage(
        pool,
        MessageType.PIPELINE_STATE,
        '<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>',
        p.pipelineId,
      ),
    );
    const events = drain(pool);
    expect(events).toEqual([
      { type: 'PipelineOutput', pipelineId: p.pipelineId, value: 1 },
      expect.objectContaining({ type: 'InformationalRecord', stream: 'Warning', message: 'careful' }),
      { type: 'PipelineStateChanged', pipelineId: p.pipelineId, state: 'Completed' },
    ]);
    expect(p.state).toBe('Completed');
  });

  it('output completed in the same payload before a bad fragment is delivered, then the ProtocolError', () => {
    const pool = openedPool();
    const p = pool.createPipeline({ commands: [{ command: '1..2', isScript: true }] });
    drain(pool);
    const out = serverMessage(pool, MessageType.PIPELINE_OUTPUT, '<I32>7</I32>', p.pipelineId);
    const orphan = fragmentMessage(100n, Buffer.alloc(100), 50)[1] as Uint8Array; // no start fragment
    pool.receiveData(p.pipelineId, Buffer.concat([out, orphan]));
    const events = drain(pool);
    expect(events[0]).toEqual({ type: 'PipelineOutput', pipelineId: p.pipelineId, value: 7 });
    expect(events.map((e) => e.type)).toContain('ProtocolError');
    expect(pool.state).toBe('Broken');
  });

  it('only the transition table changes states: a pipeline cannot be created before Opened', () => {
    const pool = new ClientRunspacePool();
    expect(() => pool.createPipeline({ commands: [{ command: '1' }] })).toThrowError(/BeforeOpen/);
    pool.open();
    expect(() => pool.open()).toThrowError(/Cannot open/);
  });
});
