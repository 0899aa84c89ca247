import { ClientRunspacePool, type PsrpEvent } from '@psremote/psrp';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { endpointFromComputerName } from '../src/url/wsman-endpoint.ts';
import { basicAuth } from '../src/wsman/auth.ts';
import { payloadBudget } from '../src/wsman/budget.ts';
import { WsmanClient } from '../src/wsman/client.ts';
import { WsmanFault, WsmanHttpError, WsmanTransportError } from '../src/wsman/errors.ts';
import { SIGNAL } from '../src/wsman/namespaces.ts';
import { OTHER_CA } from './peer/other-ca.ts';
import { WsmanPool } from './peer/wsman-pool.ts';

/**
 * A real WS-Management server: Microsoft's OMI with PowerShell 7's own WSMan plugin, started on free ports for this
 * project by test/global-setup.ts (test/peer/omi.ts; built once by `scripts/setup.sh --peers`). Without a build
 * these tests skip and say why; under PSREMOTE_REQUIRE_PEERS=1 the run fails instead.
 */
const peer = inject('omiPeer');
if (!peer) console.warn(`[transport-winrm] OMI live tests skip: ${inject('omiPeerMissing')}`);
const HOST = peer?.host ?? '127.0.0.1';
const USER = peer?.user ?? '';
const PASSWORD = peer?.password ?? '';

/** Feeds every Stream of a Receive to the engine; returns its events. */
function feed(pool: ClientRunspacePool, streams: ReadonlyArray<{ data: Uint8Array }>): PsrpEvent[] {
  for (const s of streams) if (s.data.length > 0) pool.receiveData(null, s.data);
  const out: PsrpEvent[] = [];
  for (let e = pool.nextEvent(); e; e = pool.nextEvent()) out.push(e);
  return out;
}

describe.skipIf(!peer)('WS-Management against OMI + PowerShell 7.6.9 WSMan plugin (Basic, HTTP)', () => {
  const endpoint = endpointFromComputerName({ computerName: HOST, port: peer?.httpPort ?? 5985 });
  const client = new WsmanClient({ endpoint, auth: basicAuth(USER, PASSWORD), receiveTimeoutSeconds: 20 });
  const pool = new ClientRunspacePool();
  let shellId = '';
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  };
  afterAll(async () => {
    await client.close();
    console.log(`[transport-winrm] OMI live timings (ms): ${JSON.stringify(timings)}`);
  });

  /** Runs a pipeline's Command, its remaining fragments by Send, and returns the CommandId. */
  async function startPipeline(signal: AbortSignal): Promise<{ commandId: string; pipelineId: string }> {
    const first = pool.dataToSend();
    if (!first?.createsPipeline || !first.pipelineId)
      throw new Error('expected the CREATE_PIPELINE fragment');
    const { commandId } = await client.command(
      { shellId, pipelineId: first.pipelineId, arguments: first.data },
      signal,
    );
    for (let p = pool.dataToSend(); p; p = pool.dataToSend()) {
      await client.send(
        {
          shellId,
          stream: p.stream === 'PromptResponse' ? 'pr' : 'stdin',
          data: p.data,
          ...(p.pipelineId ? { commandId } : {}),
        },
        signal,
      );
    }
    return { commandId, pipelineId: first.pipelineId };
  }

  /** Receives for a command until the server says Done; returns every engine event. */
  async function receiveUntilDone(commandId: string, signal: AbortSignal): Promise<PsrpEvent[]> {
    const events: PsrpEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await client.receive({ shellId, commandId }, signal);
      events.push(...feed(pool, r.streams));
      if (r.commandState?.state === 'Done') return events;
    }
    throw new Error('the command did not reach Done');
  }

  it('creates the shell with SESSION_CAPABILITY + INIT_RUNSPACEPOOL and receives until the pool is Opened', async () => {
    const signal = AbortSignal.timeout(120_000);
    // One fragment per message, each small enough for Create's budget at 150 KB.
    expect(payloadBudget(client.context, 'Create')).toBeGreaterThan(100_000);
    pool.open();
    const parts: Uint8Array[] = [];
    for (let p = pool.dataToSend(); p; p = pool.dataToSend()) parts.push(p.data);
    expect(parts.length).toBe(2);
    const created = await timed('create', () =>
      client.create(
        { runspacePoolId: pool.runspacePoolId, name: 'Runspace1', creationXml: Buffer.concat(parts) },
        signal,
      ),
    );
    shellId = created.shellId;
    expect(shellId).toBe(pool.runspacePoolId.toUpperCase());
    expect(created.resourceUri).toBe('http://schemas.microsoft.com/powershell/Microsoft.PowerShell');
    const seen: PsrpEvent[] = [];
    await timed('open', async () => {
      for (let i = 0; i < 10 && pool.state !== 'Opened' && pool.state !== 'Broken'; i++) {
        const r = await client.receive({ shellId }, signal);
        seen.push(...feed(pool, r.streams));
      }
    });
    expect(pool.state).toBe('Opened');
    const cap = seen.find((e) => e.type === 'SessionCapability');
    expect(cap && 'protocolVersion' in cap ? cap.protocolVersion : '').toMatch(/^2\.\d+$/);
  });

  it('runs 1+1 through Command and Receive', async () => {
    const signal = AbortSignal.timeout(120_000);
    pool.createPipeline({ commands: [{ command: '1+1', isScript: true }], noInput: true });
    const { commandId, pipelineId } = await timed('command', () => startPipeline(signal));
    expect(commandId.toLowerCase()).toBe(pipelineId);
    const events = await timed('receive-1+1', () => receiveUntilDone(commandId, signal));
    const output = events
      .filter((e) => e.type === 'PipelineOutput')
      .map((e) => (e as { value: unknown }).value);
    expect(output).toEqual([2]);
    expect(events.some((e) => e.type === 'PipelineStateChanged' && e.state === 'Completed')).toBe(true);
  });

  it('stops a running pipeline with the crtl_c Signal while its Receive waits on the other lane', async () => {
    // As PowerShell does, a Receive is outstanding when the Signal goes: OMI completes the command at the Signal,
    // so a Receive sent afterwards gets Done without the PIPELINE_STATE Stopped message.
    const signal = AbortSignal.timeout(120_000);
    pool.createPipeline({
      commands: [{ command: '"started"; Start-Sleep -Seconds 60', isScript: true }],
      noInput: true,
    });
    const { commandId } = await startPipeline(signal);
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const events: PsrpEvent[] = [];
    const receiving = (async () => {
      for (let i = 0; i < 20; i++) {
        const r = await client.receive({ shellId, commandId }, signal);
        const got = feed(pool, r.streams);
        events.push(...got);
        if (got.some((e) => e.type === 'PipelineOutput' && e.value === 'started')) started();
        if (r.commandState?.state === 'Done') return;
      }
      throw new Error('the command did not reach Done');
    })();
    await Promise.race([running, receiving]);
    await timed('signal', () => client.signal({ shellId, commandId, code: SIGNAL.stop }, signal));
    await timed('receive-stopped', () => receiving);
    expect(
      events.filter((e) => e.type === 'PipelineStateChanged').map((e) => (e as { state: string }).state),
    ).toEqual(['Stopped']);
  });

  it('speaks HTTPS: refuses the self-signed certificate, accepts it with SkipCACheck+SkipCNCheck', async () => {
    const signal = AbortSignal.timeout(60_000);
    expect(endpointFromComputerName({ computerName: HOST, useSSL: true }).url).toBe(
      `https://${HOST}:5986/wsman?PSVersion=2.0`,
    );
    const tlsEndpoint = endpointFromComputerName({ computerName: HOST, useSSL: true, port: peer?.httpsPort });
    const strict = new WsmanClient({ endpoint: tlsEndpoint, auth: basicAuth(USER, PASSWORD) });
    const refused = await strict.receive({ shellId }, signal).catch((e: unknown) => e);
    await strict.close();
    expect(refused).toBeInstanceOf(WsmanTransportError);
    const lax = new WsmanClient({
      endpoint: tlsEndpoint,
      auth: basicAuth(USER, PASSWORD),
      tls: { skipCACheck: true, skipCNCheck: true },
    });
    // A Receive for a command that does not exist: answered (a fault) over TLS.
    const answer = await timed('https-receive', () =>
      lax
        .receive({ shellId, commandId: '00000000-0000-0000-0000-000000000000' }, signal)
        .catch((e: unknown) => e),
    );
    await lax.close();
    expect(answer).not.toBeInstanceOf(WsmanTransportError);
  });

  it('deletes the shell (OMI answers a 500 InternalError fault, a known quirk)', async () => {
    const signal = AbortSignal.timeout(60_000);
    const outcome = await timed('delete', () =>
      client.delete({ shellId }, signal).then(
        () => 'deleted',
        (e: unknown) => e,
      ),
    );
    console.log(
      `[transport-winrm] OMI Delete: ${outcome === 'deleted' ? 'deleted' : (outcome as Error).message}`,
    );
    if (outcome !== 'deleted') {
      expect(outcome).toBeInstanceOf(WsmanFault);
      expect((outcome as WsmanFault).info.httpStatus).toBe(500);
      expect((outcome as WsmanFault).info.subcode?.local).toBe('InternalError');
    }
  });
});

describe.skipIf(!peer)('Basic over HTTPS against OMI, its certificate trusted explicitly', () => {
  const endpoint = endpointFromComputerName({
    computerName: HOST,
    useSSL: true,
    port: peer?.httpsPort ?? 5986,
  });
  const clients: WsmanClient[] = [];
  const client = (opts: Partial<ConstructorParameters<typeof WsmanClient>[0]>) => {
    const c = new WsmanClient({
      endpoint,
      auth: basicAuth(USER, PASSWORD),
      receiveTimeoutSeconds: 20,
      ...opts,
    });
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('is refused without trust in the certificate: the TLS check fails before any HTTP', async () => {
    const refused = await new WsmanPool(client({}))
      .open(AbortSignal.timeout(30_000))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WsmanTransportError);
    // Node's verdict on OMI's self-signed certificate, nothing else (no HTTP status: no request went out).
    expect((refused as WsmanTransportError).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it("is refused when the trusted certificate is not the server's", async () => {
    const other = await new WsmanPool(client({ tls: { ca: OTHER_CA } }))
      .open(AbortSignal.timeout(30_000))
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(WsmanTransportError);
  });

  it('opens a pool and runs a pipeline as psuser with the certificate as the only trust anchor', async () => {
    const signal = AbortSignal.timeout(120_000);
    const s = new WsmanPool(client({ tls: { ca: peer?.caPem ?? '' } }));
    const t0 = performance.now();
    await s.open(signal);
    const opened = Math.round(performance.now() - t0);
    expect(s.shellId).toBe(s.pool.runspacePoolId.toUpperCase());
    const { output, events } = await s.run('[Environment]::UserName; 6*7', signal);
    expect(output).toEqual(['psuser', 42]);
    expect(events.some((e) => e.type === 'PipelineStateChanged' && e.state === 'Completed')).toBe(true);
    console.log(`[transport-winrm] OMI over HTTPS: pool opened in ${opened} ms`);
  });

  it('answers a wrong password with 401 over HTTPS', async () => {
    const bad = client({ tls: { ca: peer?.caPem ?? '' }, auth: basicAuth(USER, 'wrong password') });
    const denied = await new WsmanPool(bad).open(AbortSignal.timeout(60_000)).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(WsmanHttpError);
    expect((denied as WsmanHttpError).status).toBe(401);
  });
});
