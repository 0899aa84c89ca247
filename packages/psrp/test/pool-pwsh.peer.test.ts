import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PSDictionary, PSObject, PSPrimitive, type PSValue } from '../src/clixml/value.ts';
import type { PsrpEvent } from '../src/events.ts';
import { EMPTY_GUID } from '../src/guid.ts';
import type { HostCall } from '../src/host/host-call.ts';
import { PipelineResultTypes } from '../src/message/codecs/enum.ts';
import { decodePacket, encodePacket, PacketLineSplitter } from '../src/outofproc/packet.ts';
import type { ClientPipeline } from '../src/pipeline/client-pipeline.ts';
import { ClientRunspacePool } from '../src/runspace-pool/client-pool.ts';
import { sampleHostData } from '../src/testing/host-data.ts';
import { findTestPwsh } from './pwsh.ts';

const pwsh = findTestPwsh();

/**
 * A minimal, test-only OutOfProc driver (protocols.md 3.2): one packet per line; Data is lock-step per PSGuid
 * (wait for DataAck), the first fragment of a pipeline goes after `<Command>` + CommandAck. The engine under
 * test is the sans-IO ClientRunspacePool; the real transport lives in @psremote/core.
 */
class Driver {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pool: ClientRunspacePool;
  readonly events: PsrpEvent[] = [];
  private readonly splitter = new PacketLineSplitter();
  private readonly acks: string[] = [];
  private wake: (() => void) | undefined;
  private stderr = '';
  private sending = false;

  constructor(pool: ClientRunspacePool) {
    this.pool = pool;
    this.child = spawn(pwsh as string, ['-s', '-NoLogo', '-NoProfile'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) {
        const p = decodePacket(line);
        if (p.kind === 'Data') this.pool.receiveData(p.psGuid === EMPTY_GUID ? null : p.psGuid, p.data);
        else this.acks.push(`${p.kind}:${p.psGuid}`);
      }
      for (let e = this.pool.nextEvent(); e; e = this.pool.nextEvent()) this.events.push(e);
      this.wake?.();
    });
    this.child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
  }

  private async until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; acks ${this.acks.join(',')}; events ${this.events.map((e) => e.type).join(',')}; stderr: ${this.stderr}`,
        );
      if (this.child.exitCode !== null)
        throw new Error(`pwsh exited (${this.child.exitCode}): ${this.stderr}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
    }
  }

  private async ack(kind: string, guid: string, ms?: number): Promise<void> {
    const key = `${kind}:${guid}`;
    await this.until(() => this.acks.includes(key), key, ms);
    this.acks.splice(this.acks.indexOf(key), 1);
  }

  private write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Sends everything the engine has queued, in order, honouring the acks. */
  async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let out = this.pool.dataToSend(); out; out = this.pool.dataToSend()) {
        const guid = out.pipelineId ?? EMPTY_GUID;
        if (out.createsPipeline) {
          this.write(encodePacket({ kind: 'Command', psGuid: guid }));
          await this.ack('CommandAck', guid);
        }
        this.write(encodePacket({ kind: 'Data', stream: out.stream, psGuid: guid, data: out.data }));
        await this.ack('DataAck', guid);
      }
    } finally {
      this.sending = false;
    }
  }

  /** Waits for an event matching `pred` (flushing outgoing data meanwhile) and returns it. */
  async waitEvent<T extends PsrpEvent>(pred: (e: PsrpEvent) => e is T, what: string): Promise<T> {
    let found: T | undefined;
    await this.flush();
    await this.until(() => {
      const i = this.events.findIndex(pred);
      if (i < 0) return false;
      found = this.events.splice(i, 1)[0] as T;
      return true;
    }, what);
    return found as T;
  }

  /** Runs a pipeline to its end, answering host calls with `answer`; returns its events. */
  async run(
    p: ClientPipeline,
    answer?: (call: HostCall) => Parameters<ClientPipeline['hostResponse']>[2] | undefined,
  ): Promise<PsrpEvent[]> {
    const mine: PsrpEvent[] = [];
    for (;;) {
      await this.flush();
      await this.until(
        () => this.events.some((e) => 'pipelineId' in e && e.pipelineId === p.pipelineId),
        'pipeline events',
      );
      for (let i = 0; i < this.events.length; ) {
        const e = this.events[i] as PsrpEvent;
        if ('pipelineId' in e && e.pipelineId === p.pipelineId) {
          this.events.splice(i, 1);
          mine.push(e);
          if (e.type === 'HostCall' && e.call.callId !== -100n && answer) {
            const r = answer(e.call);
            if (r) p.hostResponse(e.call.callId, e.call.methodId, r);
          }
          if (e.type === 'PipelineStateChanged' && ['Completed', 'Failed', 'Stopped'].includes(e.state)) {
            // The client closes each finished command (OutOfProcTransportManager: Close + CloseAck per PSGuid).
            this.write(encodePacket({ kind: 'Close', psGuid: p.pipelineId }));
            await this.ack('CloseAck', p.pipelineId);
            return mine;
          }
        } else i++;
      }
    }
  }

  async signalStop(pipelineId: string): Promise<void> {
    this.write(encodePacket({ kind: 'Signal', psGuid: pipelineId }));
    await this.ack('SignalAck', pipelineId);
  }

  async close(): Promise<void> {
    this.pool.close();
    this.write(encodePacket({ kind: 'Close', psGuid: EMPTY_GUID }));
    await this.ack('CloseAck', EMPTY_GUID, 50_000);
    this.pool.transportClosed();
  }

  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid);
  }
}

const HOST = sampleHostData({ windowTitle: 'psremote test' });

const script = (text: string) => ({ commands: [{ command: text, isScript: true }] });
const outputs = (ev: PsrpEvent[]): PSValue[] =>
  ev.flatMap((e) => (e.type === 'PipelineOutput' ? [e.value] : []));
const finalState = (ev: PsrpEvent[]) => {
  const last = ev.at(-1);
  return last?.type === 'PipelineStateChanged' ? last.state : undefined;
};

describe.skipIf(!pwsh)('ClientRunspacePool against real pwsh -s (OutOfProc)', () => {
  let d: Driver;

  beforeAll(async () => {
    d = new Driver(new ClientRunspacePool({ host: HOST }));
    d.pool.open();
    await d.waitEvent(
      (e): e is PsrpEvent & { type: 'RunspacePoolStateChanged' } =>
        e.type === 'RunspacePoolStateChanged' && (e.state === 'Opened' || e.state === 'Broken'),
      'Opened',
    );
  }, 60_000);

  afterAll(() => d?.kill());

  it('opens the pool and negotiates 2.3 with a newer server', () => {
    expect(d.pool.state).toBe('Opened');
    expect(d.pool.negotiatedProtocolVersion).toBe('2.3');
    // APPLICATION_PRIVATE_DATA: a PSPrimitiveDictionary holding PSVersionTable (protocols.md 1.4 step 4).
    const data = d.pool.applicationPrivateData;
    const dict = data instanceof PSObject ? data.baseValue : undefined;
    const psvt = dict instanceof PSDictionary ? dict.get('PSVersionTable') : undefined;
    const table = psvt instanceof PSObject ? psvt.baseValue : undefined;
    expect(table).toBeInstanceOf(PSDictionary);
    expect(String((table as PSDictionary).get('PSRemotingProtocolVersion'))).toMatch(/^2\.\d+$/);
  });

  it('runs 1..5: five outputs 1..5, then Completed', async () => {
    const ev = await d.run(d.pool.createPipeline(script('1..5')));
    expect(outputs(ev)).toEqual([1, 2, 3, 4, 5]);
    expect(finalState(ev)).toBe('Completed');
  });

  it('Get-Date comes back as a DateTime', async () => {
    const ev = await d.run(d.pool.createPipeline(script('Get-Date')));
    const [v] = outputs(ev);
    const dt = v instanceof PSObject ? v.baseValue : v;
    expect(dt).toBeInstanceOf(PSPrimitive);
    expect((dt as PSPrimitive).tag).toBe('DT');
    expect(Math.abs(Date.parse((dt as PSPrimitive<'DT'>).value) - Date.now())).toBeLessThan(120_000);
  });

  it('Write-Error gives an ErrorRecord with its FQEID and category; the pipeline still completes', async () => {
    const ev = await d.run(d.pool.createPipeline(script('Write-Error x; Get-Item /no/such/path')));
    const errs = ev.flatMap((e) => (e.type === 'ErrorRecord' ? [e.record] : []));
    expect(errs[0]).toMatchObject({
      message: 'x',
      fullyQualifiedErrorId: 'Microsoft.PowerShell.Commands.WriteErrorException',
    });
    expect(errs[1]).toMatchObject({
      fullyQualifiedErrorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
      category: 'ObjectNotFound',
      categoryInfo: 'ObjectNotFound: (/no/such/path:String) [Get-Item], ItemNotFoundException',
    });
    expect(finalState(ev)).toBe('Completed');
  });

  it('a terminating error fails the pipeline with the reason', async () => {
    const ev = await d.run(d.pool.createPipeline(script("throw 'boom'")));
    const last = ev.at(-1);
    expect(last).toMatchObject({ type: 'PipelineStateChanged', state: 'Failed' });
    expect(last?.type === 'PipelineStateChanged' && last.reason?.message).toBe('boom');
  });

  it('warning, verbose and debug records with preference Continue; progress and information records', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script(
          "$VerbosePreference='Continue'; $DebugPreference='Continue'; Write-Warning w1; Write-Verbose v1; Write-Debug d1; Write-Progress -Activity Act -Status St -PercentComplete 30 -Id 4; Write-Information -MessageData i1 -Tags T1; 'done'",
        ),
      ),
    );
    expect(ev.flatMap((e) => (e.type === 'InformationalRecord' ? [[e.stream, e.message]] : []))).toEqual([
      ['Warning', 'w1'],
      ['Verbose', 'v1'],
      ['Debug', 'd1'],
    ]);
    const prog = ev.find((e) => e.type === 'ProgressRecord');
    expect(prog?.type === 'ProgressRecord' && prog.record).toMatchObject({
      activity: 'Act',
      statusDescription: 'St',
      percentComplete: 30,
      activityId: 4,
      recordType: 'Processing',
    });
    const info = ev.find((e) => e.type === 'InformationRecord');
    expect(info?.type === 'InformationRecord' && info.record).toMatchObject({ text: 'i1', tags: ['T1'] });
    expect(outputs(ev)).toEqual(['done']);
  });

  it('the interactive layout: the line merged into Out-Default writes through WriteLine host calls', async () => {
    const ev = await d.run(
      d.pool.createPipeline({
        commands: [
          {
            command: "'hello'; Write-Error oops",
            isScript: true,
            mergeMyResult: PipelineResultTypes.Error,
            mergeToResult: PipelineResultTypes.Output,
            mergeError: PipelineResultTypes.Output,
          },
          { command: 'Out-Default', mergePreviousResults: 3 },
        ],
        addToHistory: true,
        history: "'hello'; Write-Error oops",
      }),
    );
    const calls = ev.flatMap((e) => (e.type === 'HostCall' ? [e.call] : []));
    const written = calls.map((c) => c.args.map(String).join('|')).join('\n');
    expect(calls.some((c) => c.methodName === 'WriteLine2' && c.args[0] === 'hello')).toBe(true);
    expect(calls.map((c) => c.decoded)).toContainEqual({ method: 'WriteLine2', text: 'hello' });
    expect(calls.some((c) => c.methodName === 'WriteErrorLine' || /oops/.test(written))).toBe(true);
    expect(outputs(ev)).toEqual([]);
    expect(ev.some((e) => e.type === 'ErrorRecord')).toBe(false);
    expect(finalState(ev)).toBe('Completed');
  });

  it('Read-Host is a ReadLine host call answered through hostResponse', async () => {
    const ev = await d.run(d.pool.createPipeline(script('"got: " + (Read-Host)')), (call) =>
      call.methodName === 'ReadLine' ? { value: { kind: 'string', value: 'typed text' } } : undefined,
    );
    expect(ev.some((e) => e.type === 'HostCall' && e.call.methodName === 'ReadLine')).toBe(true);
    expect(outputs(ev)).toEqual(['got: typed text']);
  });

  it('a host error answer surfaces as the RemoteHostExecutionException error', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script('try { $null = Read-Host; "no" } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }'),
      ),
      (call) => (call.methodName === 'ReadLine' ? { error: { message: 'no console here' } } : undefined),
    );
    const out = outputs(ev).map(String);
    expect(out[0]).not.toBe('no');
    expect(out.join('\n')).toContain('no console here');
  });

  it('a PSCredential prompt: the password travels as a SecureString through the session-key exchange (2.3)', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script(
          "$c = $host.UI.PromptForCredential('Title', 'Message', 'bob', ''); $c.UserName; $c.Password.GetType().Name; $c.GetNetworkCredential().Password",
        ),
      ),
      (call) =>
        call.methodName.startsWith('PromptForCredential')
          ? { value: { kind: 'credential', userName: 'alice', password: 'P@ss wörd 🎵' } }
          : undefined,
    );
    const call = ev.find((e) => e.type === 'HostCall');
    expect(call?.type === 'HostCall' && call.call.args.slice(0, 3)).toEqual(['Title', 'Message', 'bob']);
    // The 4-argument overload reaches the client as PromptForCredential2 with Generic|Domain and Default.
    expect(call?.type === 'HostCall' && call.call.decoded).toEqual({
      method: 'PromptForCredential2',
      caption: 'Title',
      message: 'Message',
      userName: 'bob',
      targetName: '',
      allowedCredentialTypes: 3,
      options: 1,
    });
    expect(outputs(ev)).toEqual(['alice', 'SecureString', 'P@ss wörd 🎵']);
  });

  it('Read-Host -AsSecureString (ReadLineAsSecureString) reuses the session key', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script('$s = Read-Host -AsSecureString; [Net.NetworkCredential]::new("", $s).Password'),
      ),
      (call) =>
        call.methodName === 'ReadLineAsSecureString'
          ? { value: { kind: 'secureString', value: 'hunter2' } }
          : undefined,
    );
    expect(outputs(ev)).toEqual(['hunter2']);
  });

  it('ReadKey: the KeyInfo reply (its enum field as an Int32) reaches the script', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script(
          '$k = $Host.UI.RawUI.ReadKey("NoEcho,IncludeKeyDown"); "$($k.Character) $($k.VirtualKeyCode) $($k.ControlKeyState) $($k.KeyDown)"',
        ),
      ),
      (call) =>
        call.methodName === 'ReadKey'
          ? {
              value: {
                kind: 'keyInfo',
                virtualKeyCode: 81,
                character: 'Q',
                controlKeyState: 0x18,
                keyDown: true,
              },
            }
          : undefined,
    );
    expect(outputs(ev)).toEqual(['Q 81 LeftCtrlPressed, ShiftPressed True']);
    expect(finalState(ev)).toBe('Completed');
  });

  it('PromptForChoice with several defaults (PromptForChoiceMultipleSelection): the Collection<int> reply reaches the script', async () => {
    const ev = await d.run(
      d.pool.createPipeline(
        script(
          "$c = [System.Management.Automation.Host.ChoiceDescription[]]@('&Apple', '&Banana', '&Cherry'); ($Host.UI.PromptForChoice('Fruit', 'Pick some', $c, [int[]]@(0)) | ForEach-Object { $_ }) -join ','",
        ),
      ),
      (call) =>
        call.methodName === 'PromptForChoiceMultipleSelection'
          ? { value: { kind: 'int32Collection', values: [2, 0] } }
          : undefined,
    );
    expect(outputs(ev)).toEqual(['2,0']);
    expect(finalState(ev)).toBe('Completed');
  });

  it('large objects both ways: a 100 KB script in several fragments, a 300 KB string and 20000 objects back', async () => {
    const filler = `# ${'f'.repeat(100_000)}\n`;
    const ev = await d.run(
      d.pool.createPipeline(script(`${filler}'y' * 300000; 1..20000 | ForEach-Object { $_ }`)),
    );
    const out = outputs(ev);
    expect(out.length).toBe(20_001);
    expect(out[0]).toBe('y'.repeat(300_000));
    expect(out[20_000]).toBe(20_000);
    expect(finalState(ev)).toBe('Completed');
  });

  it('sends input objects to a pipeline', async () => {
    const p = d.pool.createPipeline({ ...script('$input | ForEach-Object { $_ * 2 }'), noInput: false });
    p.sendInput(20);
    p.sendInput(21);
    p.endInput();
    const ev = await d.run(p);
    expect(outputs(ev)).toEqual([40, 42]);
  });

  it('GET_COMMAND_METADATA returns the command count, then CommandMetadata objects', async () => {
    const ev = await d.run(d.pool.getCommandMetadata(['Get-Item', 'Get-ChildItem']));
    const out = outputs(ev);
    expect(out.length).toBeGreaterThanOrEqual(3);
    const names = out.slice(1).map((o) => (o instanceof PSObject ? String(o.get('Name')) : ''));
    expect(names.sort()).toEqual(['Get-ChildItem', 'Get-Item']);
    expect(finalState(ev)).toBe('Completed');
  });

  it('stops a running pipeline: Stopping, then Stopped', async () => {
    const p = d.pool.createPipeline(script("'started'; Start-Sleep -Seconds 60"));
    await d.waitEvent(
      (e): e is PsrpEvent & { type: 'PipelineOutput' } =>
        e.type === 'PipelineOutput' && e.pipelineId === p.pipelineId,
      'started',
    );
    p.stop();
    expect(p.state).toBe('Stopping');
    await d.signalStop(p.pipelineId);
    const ev = await d.run(p);
    expect(finalState(ev)).toBe('Stopped');
    expect(p.state).toBe('Stopped');
  });

  it('closes: Closing, CloseAck, Closed', { timeout: 60_000 }, async () => {
    await d.close();
    expect(d.pool.state).toBe('Closed');
  });
});
