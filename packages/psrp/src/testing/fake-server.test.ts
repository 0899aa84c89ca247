import { describe, expect, it } from 'vitest';
import { PSObject, PSPrimitive, type PSValue } from '../clixml/value.ts';
import * as cryptoModule from '../crypto/session-key.ts';
import type { PsrpEvent } from '../events.ts';
import { encodeFragment, fragmentMessage } from '../fragment/fragment.ts';
import { EMPTY_GUID, newGuid } from '../guid.ts';
import { hostMethodId } from '../host/host-method.ts';
import { Destination, encodeMessage, MessageType } from '../message/header.ts';
import { ClientRunspacePool } from '../runspace-pool/client-pool.ts';
import { type FakePipeline, FakePsrpServer, pump } from './fake-server.ts';
import { sampleHostData } from './host-data.ts';

function drain(pool: ClientRunspacePool): PsrpEvent[] {
  const out: PsrpEvent[] = [];
  for (let e = pool.nextEvent(); e; e = pool.nextEvent()) out.push(e);
  return out;
}

const HOST = sampleHostData({ cursorPosition: { x: 0, y: 5 } });

function session(protocolVersion = '2.3', onPipeline?: (p: FakePipeline) => void) {
  const server = new FakePsrpServer({
    protocolVersion,
    applicationPrivateData: new PSObject({ extended: [['PSVersionTable', 'x']] }),
    ...(onPipeline ? { onPipeline } : {}),
  });
  const pool = new ClientRunspacePool({ host: HOST });
  pool.open();
  pump(pool, server);
  return { server, pool };
}

describe('a full client session against the in-memory fake server', () => {
  it('opens: SESSION_CAPABILITY then INIT_RUNSPACEPOOL, the lower version wins, state events in order', () => {
    const { server, pool } = session('2.4');
    expect(pool.state).toBe('Opened');
    expect(pool.negotiatedProtocolVersion).toBe('2.3');
    expect(server.received.map((m) => m.typeName)).toEqual(['SESSION_CAPABILITY', 'INIT_RUNSPACEPOOL']);
    expect(server.capability).toMatchObject({
      protocolVersion: '2.3',
      psVersion: '2.0',
      serializationVersion: '1.1.0.1',
    });
    expect(server.init?.hostInfo.defaultData.get(9)).toEqual(['System.String', 'psremote']);
    expect(server.init?.hostInfo.isHostRawUINull).toBe(false);
    const events = drain(pool);
    expect(events.map((e) => (e.type === 'RunspacePoolStateChanged' ? `state:${e.state}` : e.type))).toEqual([
      'state:NegotiationSent',
      'SessionCapability',
      'state:NegotiationSucceeded',
      'ApplicationPrivateData',
      'state:Opened',
    ]);
    expect(events[1]).toMatchObject({ protocolVersion: '2.4' });
    expect((pool.applicationPrivateData as PSObject).get('PSVersionTable')).toBe('x');
    expect(server.violations).toEqual([]);
  });

  it('runs a pipeline: output, every record kind, then Completed', () => {
    const { server, pool } = session('2.3', (p) => {
      p.output(1).output('two').output(new PSPrimitive('I64', 3n));
      p.error({
        message: "Cannot find path 'nope'",
        fullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
        category: 'ObjectNotFound',
        activity: 'Get-Item',
        reason: 'ItemNotFoundException',
        targetName: 'nope',
        targetType: 'String',
      });
      p.warning('w').verbose('v').debug('d');
      p.progress({ activity: 'Copying', activityId: 3, percentComplete: 40, statusDescription: 'half' });
      p.information({ messageData: 'info text', tags: ['PSHOST'], source: 'Write-Host' });
      p.finish('Completed');
    });
    drain(pool);
    const pipe = pool.createPipeline({ commands: [{ command: 'whatever', isScript: true }] });
    expect(pipe.state).toBe('Running');
    pump(pool, server);
    const ev = drain(pool);
    expect(ev.filter((e) => e.type === 'PipelineOutput').map((e) => (e as { value: PSValue }).value)).toEqual(
      [1, 'two', new PSPrimitive('I64', 3n)],
    );
    const err = ev.find((e) => e.type === 'ErrorRecord');
    expect(err?.type === 'ErrorRecord' && err.record).toMatchObject({
      message: "Cannot find path 'nope'",
      fullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
      category: 'ObjectNotFound',
      categoryInfo: 'ObjectNotFound: (nope:String) [Get-Item], ItemNotFoundException',
      exceptionTypeName: 'System.Management.Automation.RuntimeException',
    });
    expect(
      ev
        .filter((e) => e.type === 'InformationalRecord')
        .map((e) => e.type === 'InformationalRecord' && [e.stream, e.message]),
    ).toEqual([
      ['Warning', 'w'],
      ['Verbose', 'v'],
      ['Debug', 'd'],
    ]);
    const prog = ev.find((e) => e.type === 'ProgressRecord');
    expect(prog?.type === 'ProgressRecord' && prog.record).toEqual({
      activity: 'Copying',
      activityId: 3,
      statusDescription: 'half',
      currentOperation: null,
      parentActivityId: -1,
      percentComplete: 40,
      secondsRemaining: -1,
      recordType: 'Processing',
    });
    const info = ev.find((e) => e.type === 'InformationRecord');
    expect(info?.type === 'InformationRecord' && info.record).toMatchObject({
      text: 'info text',
      tags: ['PSHOST'],
      source: 'Write-Host',
      processId: 1,
    });
    expect(ev.at(-1)).toEqual({
      type: 'PipelineStateChanged',
      pipelineId: pipe.pipelineId,
      state: 'Completed',
    });
    expect(pipe.state).toBe('Completed');
    expect(pool.getPipeline(pipe.pipelineId)).toBeUndefined();
    expect(server.violations).toEqual([]);
  });

  it('sends input objects and the end of input', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
    });
    const pipe = pool.createPipeline({
      commands: [{ command: 'ForEach-Object { $_ }', isScript: true }],
      noInput: false,
    });
    pipe.sendInput(1);
    pipe.sendInput('x');
    pipe.endInput();
    pump(pool, server);
    expect(fp?.spec.noInput).toBe(false);
    expect(fp?.input).toEqual([1, 'x']);
    expect(fp?.inputEnded).toBe(true);
    expect(() => pipe.sendInput(2)).toThrow();
    expect(server.violations).toEqual([]);
  });

  it('a host call round trip: ReadLine answered on the prompt-response stream, void calls get no answer', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
      p.hostCall(hostMethodId('WriteLine2'), ['hello'], true);
      p.hostCall(hostMethodId('ReadLine'), []);
    });
    drain(pool);
    const pipe = pool.createPipeline({ commands: [{ command: 'Read-Host', isScript: true }] });
    pump(pool, server);
    const calls = drain(pool).filter((e) => e.type === 'HostCall');
    expect(
      calls.map((e) => e.type === 'HostCall' && [e.pipelineId, e.call.methodName, e.call.callId]),
    ).toEqual([
      [pipe.pipelineId, 'WriteLine2', -100n],
      [pipe.pipelineId, 'ReadLine', 1n],
    ]);
    expect(calls[0]?.type === 'HostCall' && calls[0].call.decoded).toEqual({
      method: 'WriteLine2',
      text: 'hello',
    });
    const read = calls[1];
    if (read?.type !== 'HostCall') throw new Error('no ReadLine');
    pipe.hostResponse(read.call.callId, read.call.methodId, {
      value: { kind: 'string', value: 'typed text' },
    });
    const out = pool.dataToSend();
    expect(out?.stream).toBe('PromptResponse');
    expect(out?.pipelineId).toBe(pipe.pipelineId);
    if (out) server.receive(out.data);
    expect(fp?.hostResponses).toMatchObject([{ callId: 1n, methodName: 'ReadLine', result: 'typed text' }]);
    expect(server.violations).toEqual([]);
  });

  it('a host error answer is an ErrorRecord with FQEID RemoteHostExecutionException', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
      p.hostCall(hostMethodId('EnterNestedPrompt'), []);
    });
    const pipe = pool.createPipeline({
      commands: [{ command: '$host.EnterNestedPrompt()', isScript: true }],
    });
    pump(pool, server);
    const call = drain(pool).find((e) => e.type === 'HostCall');
    if (call?.type !== 'HostCall') throw new Error('no host call');
    pipe.hostResponse(call.call.callId, call.call.methodId, { error: { message: 'not here' } });
    pump(pool, server);
    const me = fp?.hostResponses[0]?.error;
    expect(me?.get('FullyQualifiedErrorId')).toBe('RemoteHostExecutionException');
    expect(((me as PSObject).get('Exception') as PSObject).get('Message')).toBe('not here');
    expect(server.violations).toEqual([]);
  });

  it('below 2.4 a credential answer waits for the key exchange, then travels AES-encrypted', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
      p.hostCall(hostMethodId('PromptForCredential1'), ['Creds', 'Enter', 'bob', '']);
    });
    const pipe = pool.createPipeline({ commands: [{ command: 'Get-Credential', isScript: true }] });
    pump(pool, server);
    const call = drain(pool).find((e) => e.type === 'HostCall');
    if (call?.type !== 'HostCall') throw new Error('no host call');
    pipe.hostResponse(call.call.callId, call.call.methodId, {
      value: { kind: 'credential', userName: 'bob', password: 'S3cret!' },
    });
    // Only PUBLIC_KEY goes out; the response is held until the key is there.
    const first = pool.dataToSend();
    expect(pool.dataToSend()).toBeUndefined();
    if (first) server.receive(first.data);
    expect(server.received.at(-1)?.typeName).toBe('PUBLIC_KEY');
    pump(pool, server);
    expect(server.received.at(-1)?.typeName).toBe('PIPELINE_HOST_RESPONSE');
    const cred = fp?.hostResponses[0]?.result as PSObject;
    expect(cred.get('UserName')).toBe('bob');
    const ss = cred.get('Password') as PSPrimitive<'SS'>;
    expect(ss.tag).toBe('SS');
    expect(Buffer.from(ss.value, 'base64').toString('utf16le')).not.toBe('S3cret!');
    expect(server.readSecureString(ss.value)).toBe('S3cret!');
    expect(pool.encodeSecureString('x')).not.toBe(Buffer.from('x', 'utf16le').toString('base64'));
    expect(server.violations).toEqual([]);
  });

  it('against a 2.4 server the session runs at 2.3 and no key exchange starts before a SecureString needs it', () => {
    const { server, pool } = session('2.4');
    expect(pool.negotiatedProtocolVersion).toBe('2.3');
    expect(server.negotiatedVersion).toBe('2.3');
    expect(server.received.some((m) => m.typeName === 'PUBLIC_KEY')).toBe(false);
  });

  it("answers the server's PUBLIC_KEY_REQUEST with PUBLIC_KEY and accepts the session key", () => {
    const { server, pool } = session('2.3');
    server.requestPublicKey();
    pump(pool, server);
    expect(server.received.at(-1)?.typeName).toBe('PUBLIC_KEY');
    expect(server.sessionKey).toBeDefined();
    const wire = pool.encodeSecureString('abc');
    expect(server.readSecureString(wire)).toBe('abc');
    expect(pool.state).toBe('Opened');
  });

  it('requestSessionKey runs the exchange ahead of need; the server can then send SecureStrings the client reads', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
    });
    expect(pool.secureStringsReady).toBe(false);
    pool.requestSessionKey();
    pump(pool, server);
    expect(pool.secureStringsReady).toBe(true);
    const pipe = pool.createPipeline({
      commands: [{ command: 'Read-Host -AsSecureString', isScript: true }],
    });
    pump(pool, server);
    const { encryptSecureString } = cryptoModule;
    fp?.output(new PSPrimitive('SS', encryptSecureString('from server', server.sessionKey ?? null))).finish();
    pump(pool, server);
    const out = drain(pool).find((e) => e.type === 'PipelineOutput');
    const ss = out?.type === 'PipelineOutput' ? (out.value as PSPrimitive<'SS'>) : undefined;
    expect(ss?.tag).toBe('SS');
    expect(pool.decodeSecureString(ss?.value ?? '')).toBe('from server');
    expect(pipe.state).toBe('Completed');
  });

  it('a pool-level host call is answered with RUNSPACEPOOL_HOST_RESPONSE', () => {
    const { server, pool } = session('2.3');
    drain(pool);
    server.hostCall(hostMethodId('GetName'), []);
    pump(pool, server);
    const call = drain(pool).find((e) => e.type === 'HostCall');
    if (call?.type !== 'HostCall') throw new Error('no host call');
    expect(call.pipelineId).toBeNull();
    pool.hostResponse(call.call.callId, call.call.methodId, { value: { kind: 'string', value: 'psremote' } });
    pump(pool, server);
    expect(server.received.at(-1)?.typeName).toBe('RUNSPACEPOOL_HOST_RESPONSE');
    expect(server.hostResponses[0]).toMatchObject({ methodName: 'GetName', result: 'psremote' });
    expect(server.violations).toEqual([]);
  });

  it('stops a pipeline: Stopping, then the server says Stopped with PipelineStoppedException', () => {
    const { server, pool } = session('2.3', (p) => p.output('started'));
    const pipe = pool.createPipeline({ commands: [{ command: 'Start-Sleep 100', isScript: true }] });
    pump(pool, server);
    drain(pool);
    pipe.stop();
    expect(pipe.state).toBe('Stopping');
    server.signalStop(pipe.pipelineId);
    pump(pool, server);
    const ev = drain(pool);
    expect(ev).toEqual([
      expect.objectContaining({
        type: 'PipelineStateChanged',
        state: 'Stopped',
        reason: expect.objectContaining({ fullyQualifiedErrorId: 'PipelineStopped' }),
      }),
    ]);
    expect(pipe.state).toBe('Stopped');
  });

  it('GET_COMMAND_METADATA goes out on a new pipeline id with the names and the type mask', () => {
    let fp: FakePipeline | undefined;
    const { server, pool } = session('2.3', (p) => {
      fp = p;
      p.output(1).finish();
    });
    const pipe = pool.getCommandMetadata(['Get-*', 'Set-Item']);
    const first = pool.dataToSend();
    expect(first?.createsPipeline).toBe(true);
    if (first) server.receive(first.data);
    pump(pool, server);
    expect(fp?.pipelineId).toBe(pipe.pipelineId);
    expect(fp?.commandMetadata).toEqual({ names: ['Get-*', 'Set-Item'], commandType: 0x10f });
    expect(server.received.at(-1)?.body).toContain(
      '<ToString>Alias, Function, Filter, Cmdlet, Configuration</ToString>',
    );
    expect(pipe.state).toBe('Completed');
  });

  it('closes: Closing, then Closed when the server says so; running pipelines fail', () => {
    const { server, pool } = session('2.3');
    const pipe = pool.createPipeline({ commands: [{ command: 'sleep 9', isScript: true }] });
    pump(pool, server);
    drain(pool);
    pool.close();
    expect(pool.state).toBe('Closing');
    server.poolState('Closed');
    pump(pool, server);
    expect(pool.state).toBe('Closed');
    expect(pipe.state).toBe('Failed');
    pool.transportClosed();
    expect(pool.state).toBe('Closed');
  });

  it('a transport failure breaks the pool and fails running pipelines', () => {
    const { server, pool } = session('2.3');
    const pipe = pool.createPipeline({ commands: [{ command: 'sleep 9', isScript: true }] });
    pump(pool, server);
    drain(pool);
    pool.transportFailed(new Error('EPIPE'));
    expect(pool.state).toBe('Broken');
    expect(pipe.state).toBe('Failed');
    expect(drain(pool).map((e) => e.type)).toEqual(['RunspacePoolStateChanged', 'PipelineStateChanged']);
  });

  it('answers pool calls with RUNSPACE_AVAILABILITY carrying the call id, default or scripted', () => {
    const asked: string[] = [];
    const server = new FakePsrpServer({
      onPoolCall: (name) => {
        asked.push(name);
        return name === 'GET_AVAILABLE_RUNSPACES' ? 7n : name !== 'SET_MIN_RUNSPACES';
      },
    });
    const pool = new ClientRunspacePool({ host: HOST });
    pool.open();
    pump(pool, server);
    drain(pool);
    const max = pool.setRunspaces('MaxRunspaces', 4);
    const min = pool.setRunspaces('MinRunspaces', 2);
    const avail = pool.getAvailableRunspaces();
    pump(pool, server);
    const answers = drain(pool).filter((e) => e.type === 'RunspaceAvailability');
    expect(asked).toEqual(['SET_MAX_RUNSPACES', 'SET_MIN_RUNSPACES', 'GET_AVAILABLE_RUNSPACES']);
    expect(answers.map((e) => e.type === 'RunspaceAvailability' && e.callId)).toEqual([max, min, avail]);
    expect(answers.slice(0, 2).map((e) => e.type === 'RunspaceAvailability' && e.value)).toEqual([
      true,
      false,
    ]);
    expect(server.violations).toEqual([]);
  });

  it('fragments large messages both ways (small fragment size)', () => {
    const server = new FakePsrpServer({
      maxFragmentSize: 100,
      onPipeline: (p) => p.output('y'.repeat(5000)).finish(),
    });
    const pool = new ClientRunspacePool({ maxFragmentSize: 100, host: HOST });
    pool.open();
    pump(pool, server);
    expect(pool.state).toBe('Opened');
    pool.createPipeline({ commands: [{ command: 'x'.repeat(3000), isScript: true }] });
    pump(pool, server);
    const out = drain(pool).find((e) => e.type === 'PipelineOutput');
    expect(out?.type === 'PipelineOutput' && out.value).toBe('y'.repeat(5000));
    expect([...server.pipelines.values()][0]?.spec.commands[0]?.command).toBe('x'.repeat(3000));
  });
});

describe('bad peer input: a ProtocolError event, the pool Broken, pipelines Failed, nothing thrown', () => {
  function message(
    pool: ClientRunspacePool,
    type: number,
    body: string,
    pipelineId = EMPTY_GUID,
    destination: number = Destination.Client,
  ) {
    return Buffer.concat(
      fragmentMessage(
        500n,
        encodeMessage({
          destination,
          messageType: type,
          runspacePoolId: pool.runspacePoolId,
          pipelineId,
          data: Buffer.from(body),
        }),
        32768,
      ),
    );
  }
  const cases: Array<[string, (pool: ClientRunspacePool, pid: string) => Uint8Array, string]> = [
    ['an unknown message type', (pool) => message(pool, 0x00041099, '<S>x</S>'), 'PsrpUnknownMessageType'],
    ['malformed XML', (pool, pid) => message(pool, MessageType.PIPELINE_OUTPUT, '<S>x</T>', pid), ''],
    [
      'a message addressed to the server',
      (pool) => message(pool, MessageType.RUNSPACEPOOL_STATE, '<Obj/>', EMPTY_GUID, 2),
      'PsrpUnexpectedDestination',
    ],
    [
      'output for a pipeline that was never created',
      (pool) => message(pool, MessageType.PIPELINE_OUTPUT, '<I32>1</I32>', newGuid()),
      'PsrpUnknownPipeline',
    ],
    [
      'a second SESSION_CAPABILITY',
      (pool) =>
        message(
          pool,
          MessageType.SESSION_CAPABILITY,
          '<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version></MS></Obj>',
        ),
      'PsrpUnexpectedMessage',
    ],
    [
      'a second RUNSPACEPOOL_STATE Opened',
      (pool) =>
        message(
          pool,
          MessageType.RUNSPACEPOOL_STATE,
          '<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>',
        ),
      '',
    ],
    [
      'a pipeline state out of range',
      (pool, pid) =>
        message(
          pool,
          MessageType.PIPELINE_STATE,
          '<Obj RefId="0"><MS><I32 N="PipelineState">77</I32></MS></Obj>',
          pid,
        ),
      'PsrpMalformedMessage',
    ],
    [
      'a host call without a method id',
      (pool, pid) =>
        message(
          pool,
          MessageType.PIPELINE_HOST_CALL,
          '<Obj RefId="0"><MS><I64 N="ci">1</I64></MS></Obj>',
          pid,
        ),
      'PsrpMalformedMessage',
    ],
    [
      'an ENCRYPTED_SESSION_KEY nobody asked for',
      (pool) =>
        message(
          pool,
          MessageType.ENCRYPTED_SESSION_KEY,
          '<Obj RefId="0"><MS><S N="EncryptedSessionKey">AAAA</S></MS></Obj>',
        ),
      'PsrpBadSessionKey',
    ],
    [
      'a fragment whose length runs past any sane size',
      () =>
        Buffer.concat([
          Buffer.from('0000000000000001000000000000000003', 'hex'),
          Buffer.from('7fffffff', 'hex'),
          Buffer.alloc(10),
        ]),
      '',
    ],
    [
      'an end fragment without a start',
      (pool) =>
        Buffer.from(
          encodeFragment({
            objectId: 900n,
            fragmentId: 1n,
            start: false,
            end: true,
            blob: message(pool, MessageType.PIPELINE_OUTPUT, '<S/>').subarray(21),
          }),
        ),
      '',
    ],
    [
      'a truncated message header inside a whole fragment',
      () =>
        Buffer.from(
          encodeFragment({
            objectId: 901n,
            fragmentId: 0n,
            start: true,
            end: true,
            blob: new Uint8Array(10),
          }),
        ),
      '',
    ],
    [
      'a depth bomb',
      (pool, pid) => message(pool, MessageType.PIPELINE_OUTPUT, '<Obj><MS>'.repeat(5000), pid),
      '',
    ],
  ];
  it.each(cases)('%s', (_name, make, errorId) => {
    const server = new FakePsrpServer();
    const pool = new ClientRunspacePool();
    pool.open();
    pump(pool, server);
    const pipe = pool.createPipeline({ commands: [{ command: '1', isScript: true }] });
    pump(pool, server);
    drain(pool);
    expect(() => pool.receiveData(pipe.pipelineId, make(pool, pipe.pipelineId))).not.toThrow();
    const ev = drain(pool);
    const pe = ev.find((e) => e.type === 'ProtocolError');
    expect(pe).toBeDefined();
    if (errorId && pe?.type === 'ProtocolError') expect(pe.error.errorId).toBe(errorId);
    if (pe?.type === 'ProtocolError') expect(pe.error.remote).toBe(true);
    expect(pool.state).toBe('Broken');
    expect(pipe.state).toBe('Failed');
    expect(ev.filter((e) => e.type === 'PipelineStateChanged')).toEqual([
      { type: 'PipelineStateChanged', pipelineId: pipe.pipelineId, state: 'Failed' },
    ]);
    // Later input is ignored, still without a throw.
    expect(() => pool.receiveData(null, Buffer.from('garbage'))).not.toThrow();
    expect(drain(pool)).toEqual([]);
  });

  it('an oversized object is refused as soon as its size passes the limit, without buffering it whole', () => {
    const server = new FakePsrpServer({ maxFragmentSize: 4096 });
    const pool = new ClientRunspacePool({ maxMessageSize: 64 * 1024 });
    pool.open();
    pump(pool, server);
    const pipe = pool.createPipeline({ commands: [{ command: '1', isScript: true }] });
    pump(pool, server);
    drain(pool);
    server.pipelines.get(pipe.pipelineId)?.output('z'.repeat(1_000_000));
    const frags = server.takeOutput();
    let fed = 0;
    for (const f of frags) {
      pool.receiveData(null, f);
      fed += f.length;
      if (pool.state === 'Broken') break;
    }
    expect(pool.state).toBe('Broken');
    expect(fed).toBeLessThan(80 * 1024);
    expect(pipe.state).toBe('Failed');
  });

  it('fuzz: a valid server stream with random corruption never throws and never hangs on to memory', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 200; round++) {
      const server = new FakePsrpServer({
        maxFragmentSize: 64 + (round % 5) * 50,
        onPipeline: (p) => {
          p.output(
            new PSObject({
              extended: [
                ['a', 1],
                ['b', 'two'],
              ],
            }),
          ).warning('w');
          p.progress({ activity: 'x' });
          p.hostCall(hostMethodId('ReadLine'), []);
          p.finish();
        },
      });
      const pool = new ClientRunspacePool({ maxMessageSize: 16 * 1024 });
      pool.open();
      // Corrupt the server's bytes from the first pipeline on.
      pump(pool, server);
      pool.createPipeline({ commands: [{ command: 'x', isScript: true }] });
      for (let p = pool.dataToSend(); p; p = pool.dataToSend()) server.receive(p.data);
      const bytes = Buffer.concat(server.takeOutput());
      const flips = 1 + (rand() % 4);
      for (let i = 0; i < flips; i++) {
        const at = rand() % bytes.length;
        bytes[at] = rand() & 0xff;
      }
      const cut = rand() % 3 === 0 ? bytes.subarray(0, rand() % bytes.length) : bytes;
      let off = 0;
      while (off < cut.length) {
        const n = 1 + (rand() % 300);
        expect(() => pool.receiveData(null, cut.subarray(off, off + n))).not.toThrow();
        off += n;
      }
      const events = drain(pool);
      expect(['Opened', 'Broken']).toContain(pool.state);
      if (pool.state === 'Broken') expect(events.some((e) => e.type === 'ProtocolError')).toBe(true);
    }
  });

  it('late messages for a finished pipeline are dropped quietly (not an error)', () => {
    const server = new FakePsrpServer({ onPipeline: (p) => p.finish() });
    const pool = new ClientRunspacePool();
    pool.open();
    pump(pool, server);
    const pipe = pool.createPipeline({ commands: [{ command: '1', isScript: true }] });
    pump(pool, server);
    expect(pipe.state).toBe('Completed');
    drain(pool);
    server.pipelines.get(pipe.pipelineId)?.output('late');
    pump(pool, server);
    expect(drain(pool)).toEqual([]);
    expect(pool.state).toBe('Opened');
  });
});
