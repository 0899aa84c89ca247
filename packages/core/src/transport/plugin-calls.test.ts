import { describe, expect, it } from 'vitest';
import { isPSRemotingError, PSRemotingError } from '../errors/ps-remoting-error.ts';
import { RecordingHostUi } from '../host/recording-host-ui.ts';
import { openSession } from '../session/open-session.ts';
import { SessionTable } from '../session/session-table.ts';
import { createMemoryTransport } from '../testing/memory-transport.ts';
import type { PsrpPayload, TransportConnection, TransportPlugin, TransportTarget } from './contract.ts';
import { guardConnection, guardPlugin } from './plugin-calls.ts';

const target: TransportTarget = { computerName: 'srv', prompt: { kind: 'prefix', text: '[srv]: ' } };

function plugin(overrides: Partial<TransportPlugin>): TransportPlugin {
  return {
    name: 'winrm',
    apiRange: '^2.0.0',
    parameterSets: [],
    resolveTarget: () => target,
    connect: () => Promise.reject(new Error('not used')),
    ...overrides,
  };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PSRemotingError,
  );

/** A connection whose every call fails with `error` (thrown, or rejected for the async ones). */
function failingConnection(error: unknown, withAbort = true): TransportConnection {
  const reject = () => Promise.reject(error);
  const conn: TransportConnection = {
    maxFragmentSize: 1234,
    maxPayloadSize: 5678,
    open: reject,
    send: reject,
    createPipeline: reject,
    stopPipeline: reject,
    closePipeline: reject,
    close: () => {
      throw error;
    },
    receive: () => ({
      [Symbol.asyncIterator]: () => ({ next: reject }),
    }),
  };
  return withAbort
    ? {
        ...conn,
        abort: () => {
          throw error;
        },
      }
    : conn;
}

describe('plugin calls: a foreign error keeps the transport and the operation', () => {
  it('connect throwing a TypeError: openSession fails with TransportPluginFailed naming winrm and connect', async () => {
    const cause = new TypeError('socket is not a function');
    const err = await rejection(
      openSession({
        transport: plugin({ connect: () => Promise.reject(cause) }),
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
      }),
    );
    expect(isPSRemotingError(err)).toBe(true);
    expect(err?.errorId).toBe('TransportPluginFailed');
    expect(err?.category).toBe('OpenError');
    expect(err?.message).toBe("The transport 'winrm' failed in connect: socket is not a function");
    expect(err?.targetObject).toBe('srv');
    expect(err?.cause).toBe(cause);
  });

  it('resolveTarget throwing a plain Error: TransportPluginFailed naming resolveTarget', async () => {
    const err = await rejection(
      openSession({
        transport: plugin({
          resolveTarget: () => {
            throw new Error('bad port');
          },
        }),
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
      }),
    );
    expect(err?.errorId).toBe('TransportPluginFailed');
    expect(err?.message).toBe("The transport 'winrm' failed in resolveTarget: bad port");
  });

  it("a plugin's own PSRemotingError passes through unchanged (the same object)", async () => {
    const own = new PSRemotingError('Access is denied.', { errorId: 'AccessDenied', category: 'OpenError' });
    const err = await rejection(
      openSession({
        transport: plugin({ connect: () => Promise.reject(own) }),
        hostUi: new RecordingHostUi(),
        table: new SessionTable(),
      }),
    );
    expect(err).toBe(own);
  });

  it('every connection call: the operation is named, the category is ConnectionError once open', async () => {
    const cause = new RangeError('offset out of range');
    const conn = guardConnection('winrm', failingConnection(cause), 'srv');
    const payload: PsrpPayload = { pipelineId: null, stream: 'Default', data: new Uint8Array(1) };
    const calls: [string, () => Promise<unknown>][] = [
      ['open', () => conn.open({ runspacePoolId: 'p', data: new Uint8Array(1) })],
      ['send', () => conn.send(payload)],
      ['createPipeline', () => conn.createPipeline('x', payload)],
      ['stopPipeline', () => conn.stopPipeline('x')],
      ['closePipeline', () => conn.closePipeline('x')],
      ['close', () => conn.close()],
      ['receive', () => conn.receive()[Symbol.asyncIterator]().next()],
    ];
    for (const [op, run] of calls) {
      const err = await rejection(run());
      expect(err?.errorId).toBe('TransportPluginFailed');
      expect(err?.message).toBe(`The transport 'winrm' failed in ${op}: offset out of range`);
      expect(err?.category).toBe(op === 'open' ? 'OpenError' : 'ConnectionError');
      expect(err?.cause).toBe(cause);
    }
    expect(() => conn.abort?.(new PSRemotingError('x', { errorId: 'x', category: 'NotSpecified' }))).toThrow(
      "The transport 'winrm' failed in abort: offset out of range",
    );
    expect(conn.maxFragmentSize).toBe(1234);
    expect(conn.maxPayloadSize).toBe(5678);
  });

  it('a connection without abort stays without it (the kernel then falls back to close)', () => {
    expect(guardConnection('winrm', failingConnection(new Error('x'), false), 'srv').abort).toBeUndefined();
    expect(guardConnection('winrm', failingConnection(new Error('x')), 'srv').abort).toBeTypeOf('function');
  });

  it('the guarded plugin keeps name, apiRange, parameter sets and the target object itself', () => {
    const memory = createMemoryTransport();
    const guarded = guardPlugin(memory);
    expect([guarded.name, guarded.apiRange, guarded.parameterSets]).toEqual([
      memory.name,
      memory.apiRange,
      memory.parameterSets,
    ]);
    const t = guarded.resolveTarget({ parameterSet: 'ComputerName', bound: {} }, {});
    expect(t.computerName).toBe('memory');
  });
});
