import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PtySession } from './pty/harness.ts';

/**
 * Differential test: pwsh's own client is the oracle. The same lines are typed into `Enter-PSSession` in a real
 * pwsh and into `psremote enter`, each in its own pseudo-terminal against the same sshd (pwsh as its subsystem), and
 * the rendered screens must match line by line. Nothing is normalised away but what must differ (listed in
 * KNOWN_DIFFERENCES, each with its reason, and trailing blanks, which a screen does not show); a difference found
 * here and fixed in psremote keeps its step as the test that fails without the fix.
 *
 * pwsh runs without PSReadLine (removed before Enter-PSSession): psremote has its own line editor, and what is
 * compared is what the session writes, not how a typed line is echoed. Typed lines stay short of the screen width:
 * pwsh's plain ReadLine redraws a line that wraps once per key, which no real terminal user sees that way either.
 */

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const raw = inject('sshPeer');
interface Peer {
  port: number;
  key: string;
  knownHosts: string;
}
const peer = raw ? (JSON.parse(raw) as Peer) : undefined;
const PWSH_PATH = `${process.env.PATH ?? ''}${delimiter}${join(homedir(), '.dotnet', 'tools')}`;
const havePwsh =
  spawnSync('pwsh', ['-NoLogo', '-NoProfile', '-Command', 'exit 0'], {
    env: { ...process.env, PATH: PWSH_PATH },
  }).status === 0;
if (process.env.PSREMOTE_REQUIRE_PEERS === '1' && !havePwsh)
  throw new Error(
    'PSREMOTE_REQUIRE_PEERS=1 but pwsh (the oracle client) is not on PATH nor in ~/.dotnet/tools',
  );

const REMOTE_PROMPT = /^\[pstest@127\.0\.0\.1\]: PS /gm;
const ENDS_AT_PROMPT = /\[pstest@127\.0\.0\.1\]: PS [^\n]*> ?$/;

/** One thing typed, and what the screen ends with when it has been dealt with (a prompt by default). */
interface Step {
  readonly type: string;
  /** The screen's end that says the step is done; default: one more remote prompt. */
  readonly until?: RegExp;
  /** Wait this long instead of for a screen (a command left running for Ctrl+C). */
  readonly pauseMs?: number;
}

const line = (type: string): Step => ({ type: `${type}\r` });
const answer = (type: string, until: RegExp): Step => ({ type: `${type}\r`, until });

const STEPS: Step[] = [
  // Output formatting: tables, lists, hashtables, wrapping at the width.
  line('Get-Item /etc/hostname | Select-Object Name, Length'),
  line("[pscustomobject]@{A=1;B='two'}"),
  line('[ordered]@{a=1;b=2}'), // ordered: a plain hashtable's order differs between processes
  line('Get-Item /etc/hostname | Format-List Name,Length'),
  line("[pscustomobject]@{Name='x';Value=1} | Format-List"),
  line('1..3'),
  line("'x' * 130"),
  // Errors: non-terminating (a cmdlet's, Write-Error, a runtime error) come back as records; a failing pipeline
  // (throw, -ErrorAction Stop, a parse error) is shown by the console host as `Error: <message>`.
  line("Write-Error 'boom'"),
  line('Get-Item /nonexistent'),
  line('1/0'),
  line("[int]'x'"),
  line("throw 'terminating'"),
  line('Get-Item /nope -ErrorAction Stop'),
  line(')'),
  line("'a' 'b'"),
  line('nosuchcommand'),
  line("Write-Output 'a','b'; Write-Error 'mid'; 'c'"),
  // Streams and their preferences: each shown once, through the server's host calls; Information hidden.
  line("Write-Warning 'warn'"),
  line("Write-Verbose 'verb'"),
  line("Write-Verbose 'verb2' -Verbose"),
  line("Write-Debug 'dbg'"),
  line("Write-Debug 'dbg2' -Debug"),
  line("Write-Information 'info'"),
  line("Write-Information 'info2' -InformationAction Continue"),
  line("$VerbosePreference='Continue'; Write-Verbose 'v3'"),
  line("$VerbosePreference='SilentlyContinue'"),
  line("$InformationPreference='Continue'; Write-Information 'i3'"),
  line("$InformationPreference='SilentlyContinue'"),
  line("$WarningPreference='SilentlyContinue'; Write-Warning 'hidden'"),
  line("$WarningPreference='Continue'"),
  // Write-Host (text compared; colours are not on a NO_COLOR screen), Write-Progress (nothing left after).
  line("Write-Host 'red' -ForegroundColor Red"),
  line("Write-Host 'no' -NoNewline; Write-Host 'newline'"),
  line("Write-Progress -Activity a -Status s -PercentComplete 50; 'after'"),
  // The host as the server sees it.
  line('$host.UI.RawUI.WindowSize'),
  line('$host.UI.RawUI.BufferSize.Width'),
  line('$host.UI.RawUI.ForegroundColor'),
  line('$host.UI.RawUI.BackgroundColor'),
  line('$host.UI.RawUI.CursorSize'),
  line('$host.Name'),
  line('$PSVersionTable.PSVersion.Major'),
  line('$nestedPromptLevel'),
  line('$host.EnterNestedPrompt()'),
  // The prompt follows the location.
  line('cd /tmp'),
  line('cd ~'),
  // Questions from the server.
  answer("Read-Host 'Name'", /Name: ?$/),
  line('Bob'),
  answer("$c='&Yes','&No'; $host.UI.PromptForChoice('T','M',$c,0)", /\(default is "Y"\): ?$/),
  line('n'),
  answer("Read-Host 'Pw' -AsSecureString", /Pw: ?$/),
  line('abc'),
  answer('Get-Credential -UserName bob', /Password for user bob: ?$/),
  line('pw'),
  // Multi-line input: `>> ` until an empty line.
  answer('if (1) {', />> ?$/),
  answer("'in block'", />> ?$/),
  answer('}', />> ?$/),
  line(''),
  answer('1 +', />> ?$/),
  answer('2', />> ?$/),
  line(''),
  // Ctrl+C stops a running command; the prompt comes back.
  { type: 'Start-Sleep 30\r', pauseMs: 1500 },
  { type: '\x03' },
  line("'after ctrl-c'"),
];

/**
 * Differences that are meant, each applied to pwsh's screen before the comparison (so the rest of it must match).
 * Never a silent normalisation: every entry says why psremote differs.
 */
const KNOWN_DIFFERENCES: readonly { why: string; pwsh: RegExp; psremote: string }[] = [
  {
    // pwsh parses a typed line locally (RunspaceRef.ParsePsCommandUsingScriptBlock) and sends a plain command as a
    // Command, so a command that does not exist fails the whole pipeline and is reported as `Error: ...`. psremote
    // sends every line as a script (it has no PowerShell parser), so the server reports the error record, whose
    // concise view names the command. Same message, different prefix (longer, so the terminal wraps it).
    why: 'a single unknown command: pipeline failure in pwsh, error record in psremote',
    pwsh: /^Error: (The term 'nosuchcommand' is not recognized as a name of a cmdlet, function, script file, or executable pr)(ogram\.)$/m,
    psremote: 'nosuchcommand: $1\n$2',
  },
];

/** The screen without trailing blanks on its lines (pwsh pads a line it cleared with spaces; nobody sees them). */
async function screenText(s: PtySession): Promise<string> {
  return (await s.screen()).replace(/[ \t]+$/gm, '');
}

/** Waits until the screen has not changed for `quietMs`. */
async function settled(s: PtySession, quietMs: number): Promise<string> {
  let last = await screenText(s);
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 40));
    const t = await screenText(s);
    if (t !== last) {
      last = t;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return t;
  }
}

async function drive(name: string, s: PtySession, steps: readonly Step[]): Promise<string> {
  await s.waitFor(ENDS_AT_PROMPT, 40_000);
  for (const step of steps) {
    // .NET's console on Linux asks the terminal where the cursor is (ESC[6n) around every write: keys typed while
    // it waits for the answer get mixed into it. A person types after the screen is still; so does this.
    const before = await settled(s, 250);
    const prompts = (before.match(REMOTE_PROMPT) ?? []).length;
    s.type(step.type);
    if (step.pauseMs !== undefined) {
      await new Promise((r) => setTimeout(r, step.pauseMs));
      continue;
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 40));
      const t = await screenText(s);
      const done = step.until
        ? t !== before && step.until.test(t)
        : (t.match(REMOTE_PROMPT) ?? []).length > prompts && ENDS_AT_PROMPT.test(t);
      if (done) break;
      if (Date.now() > deadline)
        throw new Error(`${name}: step ${JSON.stringify(step.type)} never ended; the screen:\n${t}`);
    }
  }
  // Nothing more may arrive after the last prompt.
  return settled(s, 300);
}

/** The screen as lines from the first remote prompt on (what came before is each client's own start-up). */
function transcript(screen: string): string[] {
  const lines = screen.split('\n').map((l) => l.trimEnd());
  const first = lines.findIndex((l) => /^\[pstest@127\.0\.0\.1\]: PS /.test(l));
  return first < 0 ? lines : lines.slice(first);
}

/** Cut into one piece per typed command: the prompt line with what was typed, and everything shown after it. */
function byCommand(lines: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const l of lines) {
    if (/^\[pstest@127\.0\.0\.1\]: PS /.test(l) || out.length === 0) out.push([l]);
    else out[out.length - 1]?.push(l);
  }
  return out;
}

const canRun = Boolean(peer) && havePwsh;

describe.skipIf(!canRun)(
  'psremote enter against pwsh Enter-PSSession, the same lines typed (differential)',
  () => {
    let pwshScreen = '';
    let oursScreen = '';
    let pwsh: PtySession | undefined;
    let ours: PtySession | undefined;
    const env = { NO_COLOR: '1', USER: 'root', PATH: PWSH_PATH };

    beforeAll(async () => {
      const p = peer as Peer;
      const enter = `Enter-PSSession -HostName 127.0.0.1 -UserName pstest -Port ${p.port} -KeyFilePath '${p.key}' -Options @{UserKnownHostsFile='${p.knownHosts}'}`;
      pwsh = new PtySession(
        'pwsh',
        ['-NoLogo', '-NoProfile', '-NoExit', '-Command', `Remove-Module PSReadLine; ${enter}`],
        { env, rows: 50 },
      );
      // pwsh asks the terminal where the cursor is (ESC[6n) and waits: the headless screen answers as a terminal does.
      pwsh.term.onData((d) => pwsh?.pty.write(d));
      ours = new PtySession(
        process.execPath,
        [
          BIN,
          'enter',
          '-HostName',
          `pstest@127.0.0.1:${p.port}`,
          '-KeyFilePath',
          p.key,
          '-Options',
          `@{UserKnownHostsFile='${p.knownHosts}'}`,
        ],
        { env, rows: 50 },
      );
      try {
        [pwshScreen, oursScreen] = await Promise.all([
          drive('pwsh', pwsh, STEPS),
          drive('psremote', ours, STEPS),
        ]);
      } finally {
        if (process.env.PWSH_DIFF_DUMP) {
          const { writeFileSync } = await import('node:fs');
          writeFileSync(`${process.env.PWSH_DIFF_DUMP}/pwsh.raw`, pwsh.output);
          writeFileSync(`${process.env.PWSH_DIFF_DUMP}/psremote.raw`, ours.output);
        }
      }
    }, 120_000);

    afterAll(() => {
      pwsh?.kill();
      ours?.kill();
    });

    it('every typed command shows the same screen lines as in pwsh (known differences listed, each with its reason)', () => {
      let expected = pwshScreen;
      for (const d of KNOWN_DIFFERENCES) {
        // Each known difference must still be there in pwsh's screen: a stale entry is a failure, not a pass.
        expect(expected, d.why).toMatch(d.pwsh);
        expected = expected.replace(d.pwsh, d.psremote);
      }
      const want = byCommand(transcript(expected));
      const got = byCommand(transcript(oursScreen));
      expect(got.length).toBeGreaterThanOrEqual(STEPS.length - 12);
      for (let i = 0; i < Math.max(want.length, got.length); i++)
        expect.soft(got[i]?.join('\n'), `after ${want[i]?.[0] ?? got[i]?.[0]}`).toBe(want[i]?.join('\n'));
    });

    it('what came before the first prompt: the SSH banner, as it is (pwsh copies ssh stderr lines to its console)', () => {
      const head = (s: string) =>
        s.split('\n').slice(
          0,
          s.split('\n').findIndex((l) => l.startsWith('[pstest@')),
        );
      expect(head(pwshScreen)).toEqual(['psremote test sshd: authorized use only']);
      expect(head(oursScreen)).toEqual(head(pwshScreen));
    });

    it('exit: pwsh goes back to its local prompt, psremote (which has no local shell) ends with status 0', async () => {
      // Intentional difference: `exit` leaves the remote session in both; pwsh then shows its own local prompt.
      pwsh?.type('exit\r');
      ours?.type('exit\r');
      await pwsh?.waitFor(/^PS \/[^\n]*> ?$/m, 20_000);
      expect((await ours?.exited)?.exitCode).toBe(0);
    });
  },
);

/**
 * `psremote invoke -Command` against `Invoke-Command -Session $s -ScriptBlock {...}` in pwsh -NonInteractive.
 * Compared where the two must agree: the output text of plain values, the error messages, and the exit status.
 * Not compared, on purpose: psremote formats output on the server (Out-String) and keeps its stdout for output
 * (warnings, verbose and the like go to stderr), while pwsh formats deserialized objects on the client (adding the
 * PSComputerName and RunspaceId columns) and writes warnings to stdout.
 */
const INVOKE_CASES: readonly string[] = [
  "'a'; 1+1",
  "Write-Error 'boom'; 'after'",
  "throw 'x'",
  'Get-Item /nope',
  "Get-Item /nope -ErrorAction Stop; 'not reached'",
  '1/0',
  "Write-Warning 'w'; 'o'",
  "'a'\nWrite-Error 'second line'",
];

describe.skipIf(!canRun)('psremote invoke against pwsh Invoke-Command -Session (differential)', () => {
  it('the same stdout for plain values, the same error lines (concise view), the same exit status', () => {
    const p = peer as Peer;
    const env = { ...process.env, NO_COLOR: '1', PATH: PWSH_PATH };
    // One pwsh, one session, every case: markers cut its stdout and stderr per case; $? gives the status pwsh -Command
    // would exit with after that command alone (1 when it failed or wrote an error).
    const script = [
      `$s = New-PSSession -HostName 127.0.0.1 -UserName pstest -Port ${p.port} -KeyFilePath '${p.key}' -Options @{UserKnownHostsFile='${p.knownHosts}'}`,
      ...INVOKE_CASES.map(
        (c, i) =>
          // A remote throw ends the whole -Command script: caught, it is shown as the host shows it (Out-String of
          // the record is the error view's text) and counts as a failure.
          `[Console]::Out.WriteLine('##${i}'); [Console]::Error.WriteLine('##${i}'); try { Invoke-Command -Session $s -ScriptBlock { ${c} }; $st = if ($?) { 0 } else { 1 } } catch { [Console]::Error.WriteLine(($_ | Out-String).Trim()); $st = 1 }; [Console]::Out.WriteLine("##status $st")`,
      ),
    ].join('\n');
    const theirs = spawnSync('pwsh', ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const cut = (text: string) => text.split(/^##\d+\n/m).slice(1);
    const pwshOut = cut(theirs.stdout);
    const pwshErr = cut(theirs.stderr.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(pwshOut).toHaveLength(INVOKE_CASES.length);
    INVOKE_CASES.forEach((c, i) => {
      const ours = spawnSync(
        process.execPath,
        [
          BIN,
          'invoke',
          '-HostName',
          `pstest@127.0.0.1:${p.port}`,
          '-KeyFilePath',
          p.key,
          '-Options',
          `@{UserKnownHostsFile='${p.knownHosts}'}`,
          '-Command',
          c,
        ],
        { env, encoding: 'utf8', timeout: 30_000 },
      );
      const [out = '', status = ''] = (pwshOut[i] ?? '').split(/^##status /m);
      // The banner is the connection's, written once per process (pwsh wrote it before its first marker).
      const ourErr = ours.stderr.replace(/^psremote test sshd: authorized use only\n/, '');
      let theirErrLines = (pwshErr[i] ?? '').split('\n').filter((l) => l !== '');
      // A throw ends pwsh's whole -Command script, so the harness catches it and prints the record itself: the record
      // then carries the harness's own position (`Line |` and the harness line). What Invoke-Command shows at top
      // level is the first line's reason and the last line's message on one line.
      if (theirErrLines[1] === 'Line |')
        theirErrLines = [`${theirErrLines[0]?.trim()} ${theirErrLines.at(-1)?.replace(/^\s*\|\s/, '')}`];
      const ourErrLines = ourErr.split('\n').filter((l) => l !== '');
      expect.soft(ours.status, `exit status of ${c}`).toBe(Number(status.trim()));
      if (c.includes('Write-Warning')) {
        // Intentional: pwsh's console host writes warnings to stdout; psremote invoke keeps stdout for output.
        expect.soft(out).toBe('WARNING: w\no\n');
        expect.soft(ours.stdout).toBe('o\n');
        expect.soft(ourErrLines).toEqual(['WARNING: w']);
        return;
      }
      expect.soft(ours.stdout, `stdout of ${c}`).toBe(out);
      expect.soft(ourErrLines, `stderr of ${c}`).toEqual(theirErrLines);
    });
  }, 90_000);
});
