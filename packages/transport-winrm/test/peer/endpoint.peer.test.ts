import { ClientRunspacePool, type PsrpEvent } from '@psremote/psrp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NegotiateAuthOptions, negotiateAuth, WsmanAuthError } from '../../src/auth/negotiate-auth.ts';
import { endpointFromComputerName, endpointFromConnectionUri } from '../../src/url/wsman-endpoint.ts';
import type { AuthRequest, AuthResponse, WsmanAuthenticator } from '../../src/wsman/auth.ts';
import { basicAuth } from '../../src/wsman/auth.ts';
import { isEnvelopeTooLarge } from '../../src/wsman/budget.ts';
import { WsmanClient, type WsmanClientOptions } from '../../src/wsman/client.ts';
import { WsmanFault, WsmanHttpError, WsmanTransportError } from '../../src/wsman/errors.ts';
import { SIGNAL } from '../../src/wsman/namespaces.ts';
import { describeTransportError } from '../../src/wsman/remoting-error.ts';
import { endpointSkipReason, type StartedEndpoint, startWsmanEndpoint } from './endpoint.ts';
import { bindingAnotherCertificate } from './peers.ts';

/**
 * Our WsmanClient and the NTLM/Negotiate authenticator against wsman_endpoint.py: gss-ntlmssp (through MIT GSSAPI)
 * authenticates us, unseals every request and seals every answer, and each shell is a real `pwsh -s`. The sealing
 * is proven because an independent implementation decrypts it and answers encrypted.
 */
const skip = endpointSkipReason();
const USER = 'PSREMOTE\\psuser';
const PASSWORD = 'Passw0rd!';

/** An authenticator that records the Content-Type of every body it sends and receives. */
function recording(inner: WsmanAuthenticator) {
  const sent: string[] = [];
  const received: string[] = [];
  const auth: WsmanAuthenticator = {
    async prepare(req: AuthRequest) {
      const p = await inner.prepare(req);
      if ((p.body ?? req.body).length > 0) sent.push(p.headers['content-type'] ?? 'application/soap+xml');
      return p;
    },
    challenge: (res: AuthResponse) => inner.challenge?.(res) ?? false,
    unwrap(res: AuthResponse) {
      if (res.body.length > 0) received.push(String(res.headers['content-type'] ?? ''));
      return inner.unwrap ? inner.unwrap(res) : res.body;
    },
    reset: (lane) => inner.reset?.(lane),
  };
  return { auth, sent, received };
}

/** The pool driven by hand over WsmanClient, as test/omi-live.peer.test.ts does. */
class Session {
  readonly pool = new ClientRunspacePool();
  shellId = '';
  receives = 0;
  readonly client: WsmanClient;
  constructor(client: WsmanClient) {
    this.client = client;
  }

  private feed(streams: ReadonlyArray<{ data: Uint8Array }>): PsrpEvent[] {
    for (const s of streams) if (s.data.length > 0) this.pool.receiveData(null, s.data);
    const out: PsrpEvent[] = [];
    for (let e = this.pool.nextEvent(); e; e = this.pool.nextEvent()) out.push(e);
    return out;
  }

  async open(signal: AbortSignal): Promise<void> {
    this.pool.open();
    const parts: Uint8Array[] = [];
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend()) parts.push(p.data);
    const created = await this.client.create(
      { runspacePoolId: this.pool.runspacePoolId, name: 'Runspace1', creationXml: Buffer.concat(parts) },
      signal,
    );
    this.shellId = created.shellId;
    for (let i = 0; i < 20 && this.pool.state !== 'Opened' && this.pool.state !== 'Broken'; i++) {
      const r = await this.client.receive({ shellId: this.shellId, operationTimeoutSeconds: 10 }, signal);
      this.feed(r.streams);
    }
    if (this.pool.state !== 'Opened') throw new Error(`the pool is ${this.pool.state}`);
  }

  async start(script: string, signal: AbortSignal): Promise<string> {
    this.pool.createPipeline({ commands: [{ command: script, isScript: true }], noInput: true });
    const first = this.pool.dataToSend();
    if (!first?.createsPipeline || !first.pipelineId) throw new Error('expected CREATE_PIPELINE');
    const { commandId } = await this.client.command(
      { shellId: this.shellId, pipelineId: first.pipelineId, arguments: first.data },
      signal,
    );
    for (let p = this.pool.dataToSend(); p; p = this.pool.dataToSend())
      await this.client.send(
        {
          shellId: this.shellId,
          stream: p.stream === 'PromptResponse' ? 'pr' : 'stdin',
          data: p.data,
          ...(p.pipelineId ? { commandId } : {}),
        },
        signal,
      );
    return commandId;
  }

  /** Receives until Done (or `until` says stop); returns the events. */
  async receive(
    commandId: string,
    signal: AbortSignal,
    until?: (events: PsrpEvent[]) => boolean,
  ): Promise<{ events: PsrpEvent[]; done: boolean }> {
    const events: PsrpEvent[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await this.client.receive(
        { shellId: this.shellId, commandId, operationTimeoutSeconds: 10 },
        signal,
      );
      this.receives++;
      events.push(...this.feed(r.streams));
      if (r.commandState?.state === 'Done') return { events, done: true };
      if (until?.(events)) return { events, done: false };
    }
    throw new Error('the command did not reach Done');
  }

  async run(script: string, signal: AbortSignal): Promise<PsrpEvent[]> {
    const commandId = await this.start(script, signal);
    const { events } = await this.receive(commandId, signal);
    // As PowerShell does once a command is over: terminate closes it on the server.
    await this.client.signal({ shellId: this.shellId, commandId, code: SIGNAL.terminate }, signal);
    return events;
  }
}

const outputs = (events: PsrpEvent[]) =>
  events.filter((e) => e.type === 'PipelineOutput').map((e) => (e as { value: unknown }).value);
const states = (events: PsrpEvent[]) =>
  events.filter((e) => e.type === 'PipelineStateChanged').map((e) => (e as { state: string }).state);

function clientFor(ep: StartedEndpoint, auth: WsmanAuthenticator, extra: Partial<WsmanClientOptions> = {}) {
  return new WsmanClient({
    endpoint: endpointFromConnectionUri({ connectionUri: ep.url }),
    auth,
    receiveTimeoutSeconds: 10,
    ...extra,
  });
}

describe.skipIf(skip !== undefined)('WS-Management test endpoint over HTTP (gss-ntlmssp, sealed)', () => {
  let ep: StartedEndpoint;
  beforeAll(async () => {
    ep = await startWsmanEndpoint();
  });
  afterAll(async () => {
    await ep?.stop();
  });

  describe.each([
    { name: 'NTLM scheme', opts: { scheme: 'NTLM' } as Partial<NegotiateAuthOptions> },
    { name: 'Negotiate (SPNEGO)', opts: {} as Partial<NegotiateAuthOptions> },
  ])('$name', ({ opts }) => {
    const rec = recording(negotiateAuth({ username: USER, password: PASSWORD, ...opts }));
    let client: WsmanClient;
    let session: Session;
    beforeAll(() => {
      client = clientFor(ep, rec.auth);
      session = new Session(client);
    });
    afterAll(async () => {
      await client?.close();
    });

    it('opens the pool and runs 1+1 → 2; every body both ways is sealed', async () => {
      const signal = AbortSignal.timeout(60_000);
      const before = ep.events.filter((l) => l.startsWith('AUTH ')).length;
      await session.open(signal);
      expect(session.shellId).toBe(session.pool.runspacePoolId.toUpperCase());
      const events = await session.run('1+1', signal);
      expect(outputs(events)).toEqual([2]);
      expect(states(events)).toEqual(['Completed']);
      // The endpoint saw who we are, with the SPN we always send.
      const auths = ep.events.filter((l) => l.startsWith('AUTH ')).slice(before);
      const scheme = opts.scheme ?? 'Negotiate';
      expect(auths.length).toBeGreaterThanOrEqual(2); // the operation lane and the receive lane
      for (const a of auths)
        expect(a).toMatch(
          new RegExp(`^AUTH \\d+ ${scheme} PSREMOTE\\\\psuser cbt=none target=HTTP/127\\.0\\.0\\.1$`),
        );
      expect(rec.sent.length).toBeGreaterThan(3);
      for (const ct of [...rec.sent, ...rec.received])
        expect(ct).toBe(
          'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"',
        );
    });

    it('receives 2 MB of output over several Receives', async () => {
      const signal = AbortSignal.timeout(120_000);
      const receivesBefore = session.receives;
      const events = await session.run("1..20 | ForEach-Object { 'x' * 100000 }", signal);
      const out = outputs(events) as string[];
      expect(out.length).toBe(20);
      expect(out.every((s) => s.length === 100_000 && /^x+$/.test(s))).toBe(true);
      // 150 KB envelopes (the client's default MaxEnvelopeSize): 2 MB cannot come in fewer than ~14.
      expect(session.receives - receivesBefore).toBeGreaterThanOrEqual(10);
    });

    it('stops a Start-Sleep 60 pipeline with the crtl_c Signal', async () => {
      const signal = AbortSignal.timeout(60_000);
      const commandId = await session.start("'started'; Start-Sleep -Seconds 60", signal);
      const first = await session.receive(commandId, signal, (ev) => outputs(ev).includes('started'));
      expect(first.done).toBe(false);
      const t0 = performance.now();
      await client.signal({ shellId: session.shellId, commandId, code: SIGNAL.stop }, signal);
      const rest = await session.receive(commandId, signal);
      expect(rest.done).toBe(true);
      expect(performance.now() - t0).toBeLessThan(15_000);
      expect(states([...first.events, ...rest.events])).toEqual(['Stopped']);
      await client.signal({ shellId: session.shellId, commandId, code: SIGNAL.terminate }, signal);
    });

    it('deletes the shell: its pwsh exits', async () => {
      const signal = AbortSignal.timeout(60_000);
      const pid = ep.shellPid(session.shellId);
      expect(pid).toBeGreaterThan(0);
      await client.delete({ shellId: session.shellId }, signal);
      await ep.waitForEvent(new RegExp(`^SHELLEXIT ${session.shellId} `), 15_000);
      // The shell is gone: WinRM's "shell not found" fault.
      const after = await client.receive({ shellId: session.shellId }, signal).catch((e: unknown) => e);
      expect(after).toBeInstanceOf(WsmanFault);
      expect((after as WsmanFault).info.wsmanCode).toBe(2150858843);
      expect((after as WsmanFault).info.subcode?.local).toBe('InvalidSelectors');
    });
  });

  it('raw NTLMSSP tokens under Negotiate (mode ntlm) work too', async () => {
    const client = clientFor(ep, negotiateAuth({ username: 'psuser', password: PASSWORD, mode: 'ntlm' }));
    try {
      const s = new Session(client);
      const signal = AbortSignal.timeout(60_000);
      await s.open(signal);
      expect(outputs(await s.run('"$(2*21)"', signal))).toEqual(['42']);
      await client.delete({ shellId: s.shellId }, signal);
    } finally {
      await client.close();
    }
  });

  it('a wrong password is a 401 WsmanAuthError, worded "Access is denied." as PowerShell does', async () => {
    for (const scheme of ['Negotiate', 'NTLM'] as const) {
      const client = clientFor(ep, negotiateAuth({ username: USER, password: 'wrong', scheme }));
      const err = await client
        .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      await client.close();
      expect(err).toBeInstanceOf(WsmanAuthError);
      expect(err).toBeInstanceOf(WsmanHttpError);
      expect((err as WsmanAuthError).status).toBe(401);
      expect((err as WsmanAuthError).reason).toBe('AccessDenied');
      const d = describeTransportError(err as WsmanAuthError, 'Create', {
        computerName: '127.0.0.1',
        resourceUri: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
      });
      expect(d.message).toBe(
        'Connecting to remote server 127.0.0.1 failed with the following error message : Access is denied. For more information, see the about_Remote_Troubleshooting Help topic.',
      );
      expect(d.newPSSessionErrorId).toBe('AccessDenied,PSSessionOpenFailed');
    }
    await ep.waitForEvent(/^AUTHFAIL \d+ NTLM /);
  });

  it('refuses a plaintext body on an HTTP Negotiate connection (AllowUnencrypted=false): 401', async () => {
    const client = clientFor(ep, negotiateAuth({ username: USER, password: PASSWORD, encryption: 'never' }));
    const err = await client
      .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000))
      .catch((e: unknown) => e);
    await client.close();
    expect(err).toBeInstanceOf(WsmanHttpError);
    expect((err as WsmanHttpError).status).toBe(401);
    await ep.waitForEvent(/^AUTHFAIL \d+ Negotiate unencrypted-body$/);
  });

  it('refuses Basic over HTTP (no --allow-unencrypted)', async () => {
    const client = clientFor(ep, basicAuth(USER, PASSWORD));
    const err = await client
      .receive({ shellId: '00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000))
      .catch((e: unknown) => e);
    await client.close();
    expect((err as WsmanHttpError).status).toBe(401);
    await ep.waitForEvent(/^AUTHFAIL \d+ Basic over-http$/);
  });

  it('a killed pwsh surfaces as a fault on the next Receive, within seconds', async () => {
    const client = clientFor(ep, negotiateAuth({ username: USER, password: PASSWORD }));
    try {
      const s = new Session(client);
      const signal = AbortSignal.timeout(60_000);
      await s.open(signal);
      const commandId = await s.start("'started'; Start-Sleep -Seconds 60", signal);
      await s.receive(commandId, signal, (ev) => outputs(ev).includes('started'));
      const pid = ep.shellPid(s.shellId) as number;
      expect(pid).toBeGreaterThan(0);
      const t0 = performance.now();
      ep.killShell(s.shellId);
      const err = await s.receive(commandId, signal).catch((e: unknown) => e);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(err).toBeInstanceOf(WsmanFault);
      expect((err as WsmanFault).info.wsmanCode).toBe(1726);
      expect((err as WsmanFault).message).toMatch(/provider host process did not return a proper response/);
    } finally {
      await client.close();
    }
  });
});

describe.skipIf(skip !== undefined)('a new connection authenticates again', () => {
  let ep: StartedEndpoint;
  beforeAll(async () => {
    // Every connection closes after 2 envelopes: the client must re-authenticate each new one.
    ep = await startWsmanEndpoint({ connMaxRequests: 2 });
  });
  afterAll(async () => {
    await ep?.stop();
  });

  it('keeps working across reconnects, with one handshake per connection', async () => {
    const client = clientFor(ep, negotiateAuth({ username: USER, password: PASSWORD }));
    try {
      const s = new Session(client);
      const signal = AbortSignal.timeout(90_000);
      await s.open(signal);
      expect(outputs(await s.run('1+1', signal))).toEqual([2]);
      expect(outputs(await s.run('2+2', signal))).toEqual([4]);
      await client.delete({ shellId: s.shellId }, signal);
      const auths = ep.events.filter((l) => l.startsWith('AUTH '));
      const conns = new Set(auths.map((l) => l.split(' ')[1]));
      expect(auths.length).toBeGreaterThanOrEqual(4);
      expect(conns.size).toBe(auths.length);
    } finally {
      await client.close();
    }
  });
});

describe.skipIf(skip !== undefined)('over HTTPS', () => {
  let ep: StartedEndpoint;
  beforeAll(async () => {
    ep = await startWsmanEndpoint({ https: true, requireCbt: true });
  });
  afterAll(async () => {
    await ep?.stop();
  });
  const https = () =>
    endpointFromComputerName({ computerName: '127.0.0.1', port: ep.httpsPort as number, useSSL: true });

  it('Basic with the CA trusted: opens a pool and runs a command; refused without the CA', async () => {
    expect(ep.caPem).toContain('BEGIN CERTIFICATE');
    const signal = AbortSignal.timeout(60_000);
    const strict = new WsmanClient({ endpoint: https(), auth: basicAuth(USER, PASSWORD) });
    const refused = await strict.receive({ shellId: 'X' }, signal).catch((e: unknown) => e);
    await strict.close();
    expect(refused).toBeInstanceOf(WsmanTransportError);
    expect((refused as WsmanTransportError).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);

    const client = new WsmanClient({
      endpoint: https(),
      auth: basicAuth('psuser', PASSWORD),
      tls: { ca: ep.caPem as string },
      receiveTimeoutSeconds: 10,
    });
    try {
      const s = new Session(client);
      await s.open(signal);
      expect(outputs(await s.run('[Environment]::ProcessId -gt 0', signal))).toEqual([true]);
      await client.delete({ shellId: s.shellId }, signal);
      await ep.waitForEvent(/^AUTH \d+ Basic psuser cbt=none/);
    } finally {
      await client.close();
    }
  });

  it('NTLM with the tls-server-end-point binding of the real certificate passes --require-cbt; plaintext bodies', async () => {
    const rec = recording(negotiateAuth({ username: USER, password: PASSWORD }));
    const client = new WsmanClient({
      endpoint: https(),
      auth: rec.auth,
      tls: { ca: ep.caPem as string },
      receiveTimeoutSeconds: 10,
    });
    try {
      const s = new Session(client);
      const signal = AbortSignal.timeout(60_000);
      await s.open(signal);
      expect(outputs(await s.run('3*3', signal))).toEqual([9]);
      await client.delete({ shellId: s.shellId }, signal);
      const line = await ep.waitForEvent(
        /^AUTH \d+ Negotiate PSREMOTE\\psuser cbt=ok target=HTTP\/127\.0\.0\.1$/,
      );
      expect(line).toBeTruthy();
      for (const ct of [...rec.sent, ...rec.received]) expect(ct).toMatch(/^application\/soap\+xml/);
    } finally {
      await client.close();
    }
  });

  it('NTLM with the binding of another certificate is refused (Extended Protection)', async () => {
    const inner = negotiateAuth({ username: USER, password: PASSWORD });
    const lying = bindingAnotherCertificate(inner);
    const client = new WsmanClient({ endpoint: https(), auth: lying, tls: { ca: ep.caPem as string } });
    const err = await client.receive({ shellId: 'X' }, AbortSignal.timeout(20_000)).catch((e: unknown) => e);
    await client.close();
    expect(err).toBeInstanceOf(WsmanAuthError);
    await ep.waitForEvent(/^AUTHFAIL \d+ Negotiate cbt:wrong$/);
  });
});

describe.skipIf(skip !== undefined)('hostile knobs', () => {
  it('--redirect-to: the first request is answered 307 with the Location', async () => {
    const ep = await startWsmanEndpoint({ redirectTo: 'http://127.0.0.1:1/wsman', redirectCount: 1 });
    try {
      const client = clientFor(ep, negotiateAuth({ username: USER, password: PASSWORD }));
      const err = await client
        .receive({ shellId: 'X' }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WsmanHttpError);
      expect((err as WsmanHttpError).status).toBe(307);
      // Only the first: the next request gets through to WS-Management (a fault: no such shell).
      const next = await client
        .receive({ shellId: 'X' }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      await client.close();
      expect(next).toBeInstanceOf(WsmanFault);
      expect((next as WsmanFault).info.subcode?.local).toBe('InvalidSelectors');
    } finally {
      await ep.stop();
    }
  });

  it('--max-envelope-size: a larger request gets the EncodingLimit fault with HTTP 413', async () => {
    const ep = await startWsmanEndpoint({ maxEnvelopeSize: 16_384 });
    try {
      const client = clientFor(ep, negotiateAuth({ username: USER, password: PASSWORD }));
      const err = await client
        .send({ shellId: 'X', stream: 'stdin', data: new Uint8Array(20_000) }, AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      await client.close();
      expect(err).toBeInstanceOf(WsmanFault);
      expect((err as WsmanFault).info.httpStatus).toBe(413);
      expect(isEnvelopeTooLarge(err)).toBe(true);
    } finally {
      await ep.stop();
    }
  });
});
