import { execFileSync } from 'node:child_process';
import { isPSRemotingError, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { PSObject, PSPrimitive } from '@psremote/psrp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createProcessTransport } from '../src/process-transport.ts';

const pwshPath = inject('pwshPath');
const live = describe.skipIf(!pwshPath);

live('a session on a real local pwsh -s', () => {
  let session: PSSession;
  const hostUi = new RecordingHostUi();
  const transport = createProcessTransport({ pwshPath });

  beforeAll(async () => {
    session = await openSession({ transport, hostUi });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('opens: state, table row, negotiated protocol, server PSVersionTable', () => {
    expect(session.state).toBe('Opened');
    expect(session.info).toMatchObject({
      computerName: 'localhost',
      state: 'Opened',
      availability: 'Available',
    });
    expect(session.info.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.protocolVersion).toBe('2.3');
    const apd = session.applicationPrivateData;
    expect(apd).toBeInstanceOf(PSObject);
  });

  it('Get-Date comes back as a DateTime close to now', async () => {
    const r = await session.invoke('Get-Date').result();
    const v = r.output[0];
    const dt = v instanceof PSObject ? v.baseValue : v;
    expect(dt).toBeInstanceOf(PSPrimitive);
    expect((dt as PSPrimitive).tag).toBe('DT');
    const when = Date.parse(String((dt as PSPrimitive).value));
    expect(Math.abs(when - Date.now())).toBeLessThan(60_000);
  });

  it('an error record carries message, FQEID and category', async () => {
    const r = await session.invoke("Get-Item -LiteralPath '/definitely/not/here'; 'after'").result();
    expect(r.state).toBe('Completed');
    expect(r.output).toEqual(['after']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.fullyQualifiedErrorId).toBe(
      'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
    );
    expect(r.errors[0]?.category).toBe('ObjectNotFound');
    expect(r.errors[0]?.message).toContain('/definitely/not/here');
  });

  it('a terminating error fails the pipeline with its reason', async () => {
    const r = await session.invoke("throw 'kaboom'").result();
    expect(r.state).toBe('Failed');
    expect(r.reason?.message).toContain('kaboom');
  });

  it('warning, verbose, debug and information streams', async () => {
    const r = await session
      .invoke(
        "$VerbosePreference='Continue'; $DebugPreference='Continue'; Write-Warning 'w1'; Write-Verbose 'v1'; Write-Debug 'd1'; Write-Information 'i1'",
      )
      .result();
    expect(r.warnings).toEqual(['w1']);
    expect(r.verbose).toEqual(['v1']);
    expect(r.debug).toEqual(['d1']);
    expect(r.information.map((i) => String(i.messageData))).toEqual(['i1']);
  });

  it('Write-Progress arrives as progress records, then Completed', async () => {
    const seen: string[] = [];
    for await (const ev of session.invoke(
      "1..3 | % { Write-Progress -Activity 'Copy' -Status \"$_ of 3\" -PercentComplete ($_*33) }; Write-Progress -Activity 'Copy' -Completed",
    )) {
      if (ev.kind === 'progress')
        seen.push(`${ev.record.activity}:${ev.record.percentComplete}:${ev.record.recordType}`);
    }
    expect(seen).toContain('Copy:33:Processing');
    expect(seen).toContain('Copy:99:Processing');
    expect(seen.at(-1)).toMatch(/^Copy:.*:Completed$/);
  });

  it('streams 100k objects with backpressure and keeps order', async () => {
    let n = 0;
    let ok = true;
    for await (const v of session.invoke('1..100000').output()) {
      n++;
      if (v !== n) ok = false;
    }
    expect(n).toBe(100_000);
    expect(ok).toBe(true);
  });

  it('pool messages: SET_MAX/MIN_RUNSPACES, GET_AVAILABLE_RUNSPACES, RESET_RUNSPACE_STATE', async () => {
    expect(await session.setMaxRunspaces(3)).toBe(true);
    expect(await session.setMinRunspaces(1)).toBe(true);
    expect(await session.getAvailableRunspaces()).toBe(3);
    // The server resets only a pool of one runspace (RemoteRunspacePoolInternal).
    expect(await session.setMaxRunspaces(1)).toBe(true);
    await session.invoke('$kept = 41').result();
    expect(await session.resetRunspaceState()).toBe(true);
    expect((await session.invoke('$null -eq $kept').result()).output).toEqual([true]);
  });

  it('Read-Host is answered through the HostUi', async () => {
    hostUi.answer('typed answer');
    const r = await session.invoke("Read-Host -Prompt 'Name'").result();
    expect(r.output).toEqual(['typed answer']);
    expect(hostUi.records.some((x) => x.kind === 'ask' && x.member === 'Prompt')).toBe(true);
  });

  it('a credential prompt round-trips the SecureString (key exchange below protocol 2.4)', async () => {
    hostUi.answer({ userName: 'alice', password: 'S3cret!' });
    const r = await session
      .invoke(
        "$c = Get-Credential -UserName alice -Message 'creds'; $c.UserName; $c.GetNetworkCredential().Password",
      )
      .result();
    expect(r.output).toEqual(['alice', 'S3cret!']);
  });
});

live('host prompts and the end of their command', () => {
  it('a Read-Host still open when its command is stopped gets its signal aborted (the prompt is withdrawn)', async () => {
    let seen: AbortSignal | undefined;
    class WaitingHostUi extends RecordingHostUi {
      override readLine(signal?: AbortSignal): Promise<string> {
        seen = signal;
        return new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('withdrawn'))),
        );
      }
    }
    const session = await openSession({
      transport: createProcessTransport({ pwshPath }),
      hostUi: new WaitingHostUi({ interactive: true }),
    });
    try {
      const inv = session.invoke('Read-Host');
      for (let i = 0; i < 100 && !seen; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen?.aborted).toBe(false);
      await inv.stop();
      expect((await inv.result()).state).toBe('Stopped');
      expect(seen?.aborted).toBe(true);
      expect((await session.invoke('6*7').result()).output).toEqual([42]);
    } finally {
      await session.close();
    }
  });
});

live('the transport conformance kit (@psremote/core/testing) on a real pwsh -s', () => {
  const checks = transportConformanceChecks({
    open: () =>
      openSession({ transport: createProcessTransport({ pwshPath }), hostUi: new RecordingHostUi() }),
    kills: {
      'the pwsh child is killed': (_s, pid) => {
        execFileSync('kill', ['-9', String(pid)]);
      },
    },
  });
  for (const c of checks) it(c.name, c.run, 30_000);
});

live('lifecycle against a real pwsh', () => {
  it('a missing pwsh gives PowerShellNotFound naming the install command', async () => {
    const e = await openSession({
      transport: createProcessTransport({ pwshPath: '/nonexistent/pwsh' }),
      hostUi: new RecordingHostUi(),
    }).catch((x: unknown) => x);
    expect(isPSRemotingError(e) && e.errorId).toBe('PowerShellNotFound');
  });
});
