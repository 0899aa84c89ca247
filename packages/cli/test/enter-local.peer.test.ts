import { execFileSync, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, havePwsh, PWSH_PATH } from './local-pwsh.ts';
import { PtySession } from './pty/harness.ts';

const env = { PATH: PWSH_PATH, NO_COLOR: '1' };

const live = havePwsh(env);

let s: PtySession | undefined;
afterEach(() => s?.kill());

describe.skipIf(!live)('psremote enter with no target, in a pseudo-terminal, against real pwsh', () => {
  it('shows the remote prompt, runs lines, follows cd, and exit returns 0', async () => {
    s = new PtySession(process.execPath, [BIN, 'enter'], { env, cwd: '/' });
    await s.waitFor(/\[localhost\]: PS \/\S*> $/m, 30_000);
    s.type('1+1\r');
    await s.waitFor(/^2$/m);
    s.type('cd /tmp\r');
    await s.waitFor(/\[localhost\]: PS \/tmp> $/m);
    s.type('exit\r');
    const end = await s.exited;
    expect(end.exitCode).toBe(0);
  });
});

/** `psremote enter` with a script on stdin: what it printed and its exit status. */
function enterWithStdin(input: string): { stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, 'enter'], {
    input,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { stdout: r.stdout, status: r.status };
}

describe.skipIf(!live)('psremote without a terminal', () => {
  it('runs a script from stdin and reflects the last error in its exit status', () => {
    const ok = enterWithStdin("'first'\n1..3 | % { $_ * 2 }\n");
    expect(ok.stdout.split('\n').filter(Boolean)).toEqual(['first', '2', '4', '6']);
    expect(ok.status).toBe(0);
    expect(enterWithStdin("'ok'\nGet-Item /does/not/exist\n").status).toBe(1);
  });

  it('a script on stdin with multi-line blocks (empty lines inside a function too) runs, and exit 7 gives 7', () => {
    const script = [
      'function Double($a) {',
      '  $b = $a',
      '',
      '  $b * 2',
      '}',
      '',
      'Double 21',
      'if ($true) {',
      "  'inside'",
      '} else {',
      "  'never'",
      '}',
      '',
      '$list = @(',
      '  1,',
      '  2',
      ')',
      '"count $($list.Count)"',
      '',
      "'a' +",
      "  'b'",
    ].join('\n');
    const out = enterWithStdin(`${script}\n`);
    expect(out.stdout.split('\n').filter(Boolean)).toEqual(['42', 'inside', 'count 2', 'ab']);
    expect(enterWithStdin("'x'\nexit 7\n'not reached'\n").status).toBe(7);
  });

  it('each stream message is shown once, as pwsh shows it: the host calls, not the records again', () => {
    const script =
      "Write-Warning 'w1'; Write-Verbose 'v1' -Verbose; Write-Debug 'd1' -Debug; Write-Information 'i-hidden'; Write-Information 'i-shown' -InformationAction Continue; Write-Host 'h1'; Write-Verbose 'v-hidden'; 'o1'";
    // pwsh's client, same script (Invoke-Command over SSH and Enter-PSSession): every line once, `i-hidden` and
    // `v-hidden` not at all (their preferences are SilentlyContinue).
    const expected = ['WARNING: w1', 'VERBOSE: v1', 'DEBUG: d1', 'i-shown', 'h1', 'o1'];
    const entered = enterWithStdin(`${script}\n`);
    expect(entered.stdout.split('\n').filter(Boolean)).toEqual(expected);
    const invoked = spawnSync(process.execPath, [BIN, 'invoke', '-Command', script], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(invoked.stdout.split('\n').filter(Boolean)).toEqual(['o1']);
    expect(invoked.stderr.split('\n').filter(Boolean)).toEqual(expected.slice(0, -1));
    expect(invoked.status).toBe(0);
  });

  it('invoke --json prints one JSON object per output line, faithfully mapped', () => {
    const out = execFileSync(
      process.execPath,
      [
        BIN,
        'invoke',
        '-Command',
        "1; Write-Warning 'careful'; 'two'; Write-Host 'hello host'; Write-Verbose 'loud' -Verbose; [pscustomobject]@{ Name = 'n'; Size = [long]5 }; @{ k = 'v' }",
        '--json',
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Only the output objects on stdout; the host's text (warning, Write-Host, verbose) is not mixed in.
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toBe(1);
    expect(lines[1]).toBe('two');
    expect(lines[2]).toMatchObject({
      Name: 'n',
      Size: 5,
      PSTypeNames: ['System.Management.Automation.PSCustomObject', 'System.Object'],
    });
    expect(lines[3]).toEqual({ k: 'v' });
  });

  it('invoke prints text as PowerShell formats it and fails with status 1 on an error', () => {
    const out = execFileSync(
      process.execPath,
      [BIN, 'invoke', '-Command', 'Get-Item / | Select-Object -ExpandProperty FullName'],
      {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('/');
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [BIN, 'invoke', '-Command', 'Get-Item /nope/nope'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(status).toBe(1);
    // pwsh's concise view, as Invoke-Command shows the server's error record.
    expect(stderr).toContain("Get-Item: Cannot find path '/nope/nope' because it does not exist.");
  });

  it('--dry-run prints the binding as JSON, and binding errors exit 2 with errorId', () => {
    const ok = execFileSync(
      process.execPath,
      [BIN, 'enter', '-ContainerId', 'web1', '-RunAsAdministrator', '--dry-run'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(ok)).toMatchObject({
      parameterSet: 'ContainerId',
      bound: { ContainerId: 'web1', RunAsAdministrator: true },
    });
    let status = 0;
    let stdout = '';
    try {
      execFileSync(process.execPath, [BIN, 'enter', '-Port', '70000', '-HostName', 'h', '--dry-run'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      status = (e as { status: number }).status;
      stdout = String((e as { stdout: string }).stdout);
    }
    expect(status).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ errorId: 'ParameterArgumentValidationError' });
  });

  it("psremote's own usage errors are PowerShell-style, with an errorId and a FullyQualifiedErrorId, exit 2", () => {
    for (const [args, fqid, category] of [
      [['enter', '--bogus'], 'UnknownPsremoteOption,psremote', 'InvalidArgument'],
      [['frob'], 'UnknownPsremoteCommand,psremote', 'ObjectNotFound'],
      [['enter', '--pwsh'], 'MissingArgument,psremote', 'InvalidArgument'],
      [['invoke', '-ComputerName', 'x'], 'MissingArgument,psremote', 'InvalidArgument'],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`+ FullyQualifiedErrorId : ${fqid}`);
      expect(r.stderr).toContain(`+ CategoryInfo          : ${category}:`);
      expect(r.stderr).not.toMatch(/\bat .*\.(js|ts):\d+/);
    }
  });

  it('--pwsh with a target is refused (exit 2, PwshOptionNotApplicable), not silently ignored', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'enter', '-HostName', 'me@box', '--pwsh', '/opt/pwsh', '--dry-run'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ errorId: 'PwshOptionNotApplicable' });
    const plain = spawnSync(process.execPath, [BIN, 'enter', '-ContainerId', 'c1', '--pwsh=/x/pwsh'], {
      encoding: 'utf8',
    });
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain('does not apply to a session of the ContainerId parameter set');
    expect(plain.stderr).toContain('FullyQualifiedErrorId : PwshOptionNotApplicable');
  });

  it('a binding error in a normal run prints the PowerShell error view and exits 2', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [BIN, 'enter', '-Bogus', 'x'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toContain("A parameter cannot be found that matches parameter name 'Bogus'.");
    expect(stderr).toContain(
      'FullyQualifiedErrorId : NamedParameterNotFound,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('-VMName reaches the Hyper-V transport; -ComputerName reaches the WinRM transport', () => {
    // @psremote/transport-hyperv serves VMId and VMName (issue 15): --dry-run shows its target, no password asked.
    const hyperv = spawnSync(
      process.execPath,
      [BIN, 'enter', '-VMName', 'vm1', '-Credential', 'me', '--dry-run'],
      {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      },
    );
    expect(JSON.parse(hyperv.stdout)).toMatchObject({
      parameterSet: 'VMName',
      bound: { Credential: { userName: 'me' } },
    });
    expect(hyperv.stdout).toContain('PowerShell Direct');
    expect(hyperv.stdout).not.toContain('TransportNotImplemented');
    // --dry-run names the URL, resource URI and authentication, with the user but never a password prompt.
    const winrm = spawnSync(
      process.execPath,
      [
        BIN,
        'enter',
        '-ComputerName',
        'srv01',
        '-UseSSL',
        '-Credential',
        'DOM\\me',
        '-ConfigurationName',
        'PowerShell.7',
        '--dry-run',
      ],
      { encoding: 'utf8', env: { ...process.env, ...env } },
    );
    expect(JSON.parse(winrm.stdout)).toMatchObject({
      transport: 'winrm',
      computerName: 'srv01',
      target: {
        url: 'https://srv01:5986/wsman?PSVersion=2.0',
        resourceUri: 'http://schemas.microsoft.com/powershell/PowerShell.7',
        authentication: 'Default',
        userName: 'DOM\\me',
      },
    });
    const noCredential = spawnSync(process.execPath, [BIN, 'enter', '-ComputerName', 'srv01'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      input: '',
    });
    expect(noCredential.status).toBe(1);
    expect(noCredential.stderr).toContain('FullyQualifiedErrorId : CreateRemoteRunspaceFailed,');
  });
});
