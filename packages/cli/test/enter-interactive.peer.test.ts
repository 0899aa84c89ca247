import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, havePwsh, LOCAL_PROMPT, PWSH_PATH } from './local-pwsh.ts';
import { PtySession } from './pty/harness.ts';

const baseEnv = { PATH: PWSH_PATH };

let s: PtySession | undefined;
afterEach(() => s?.kill());

const PROMPT = LOCAL_PROMPT;

function start(extraEnv: Record<string, string | undefined> = {}): PtySession {
  const state = mkdtempSync(join(tmpdir(), 'psremote-state-'));
  s = new PtySession(process.execPath, [BIN, 'enter'], {
    env: { ...baseEnv, XDG_STATE_HOME: state, ...extraEnv },
    cwd: '/',
  });
  (s as PtySession & { state?: string }).state = state;
  return s;
}

describe.skipIf(!havePwsh(baseEnv))('the interactive host in a pseudo-terminal, against real pwsh', () => {
  it('answers Read-Host, Get-Credential (masked) and PromptForChoice with ? help', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type('$n = Read-Host \'Your name\'; "hello $n"\r');
    await t.waitFor(/Your name: $/m);
    t.type('Ada\r');
    await t.waitFor(/^hello Ada$/m);
    t.type(
      "$c = Get-Credential -UserName bob -Message 'need creds'; $c.UserName + ':' + $c.GetNetworkCredential().Password\r",
    );
    await t.waitFor(/Password for user bob: $/m);
    t.type('s3cret\r');
    const screen = await t.waitFor(/^bob:s3cret$/m);
    expect(screen).toContain('Password for user bob: ******');
    t.type(
      "$host.UI.PromptForChoice('Deploy', 'Go on?', [System.Management.Automation.Host.ChoiceDescription[]]@('&Yes','&No'), 0)\r",
    );
    await t.waitFor(/\[Y\] Yes {2}\[N\] No {2}\[\?\] Help \(default is "Y"\): $/m);
    t.type('?\r');
    await t.waitFor(/^N - $/m);
    t.type('n\r');
    await t.waitFor(/^1$/m);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('a missing mandatory parameter is asked for as the console host does (label without &, array until empty)', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type('Get-Item | Select-Object -ExpandProperty FullName\r');
    const ask = await t.waitFor(/^Path\[0\]: $/m);
    expect(ask).toContain(
      'cmdlet Get-Item at command pipeline position 1\nSupply values for the following parameters:',
    );
    expect(ask).not.toContain('&Path');
    t.type('/tmp\r');
    await t.waitFor(/^Path\[1\]: $/m);
    t.type('/\r');
    await t.waitFor(/^Path\[2\]: $/m);
    t.type('\r');
    await t.waitFor(/^\/tmp\n\/$/m);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('Ctrl+C stops while($true){} and the next command works', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type('while ($true) { }\r');
    await new Promise((r) => setTimeout(r, 700));
    const before = Date.now();
    t.type('\x03');
    await t.waitFor(/PS \/\S*> $/m);
    expect(Date.now() - before).toBeLessThan(3000);
    t.type('40+2\r');
    await t.waitFor(/^42$/m);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('Ctrl+C at Read-Host, at a masked credential prompt and during progress stops the command; the next line runs', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type('$x = Read-Host -Prompt "Name"\r');
    await t.waitFor(/^Name: $/m);
    t.type('\x03');
    await t.waitFor(PROMPT);
    t.type('"after read-host"\r');
    await t.waitFor(/^after read-host$/m);
    t.type('$c = Get-Credential -UserName bob\r');
    await t.waitFor(/^Password for user bob: $/m);
    t.type('\x03');
    await t.waitFor(PROMPT);
    t.type('"after credential"\r');
    const afterCredential = await t.waitFor(/^after credential$/m);
    expect(afterCredential).not.toMatch(/Get-Credential:/);
    t.type(
      '1..100 | % { Write-Progress -Activity Busy -PercentComplete $_; Start-Sleep -Milliseconds 50 }\r',
    );
    await t.waitFor(/Busy \[o*\s*\] \d+%/);
    t.type('\x03');
    await t.waitFor(PROMPT);
    t.type('"after progress"\r');
    const after = await t.waitFor(/^after progress$/m);
    expect(after).not.toMatch(/Busy \[/);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('Ctrl+D at an empty prompt and Exit-PSSession end the session with 0; a server that dies ends it with 3', async () => {
    const a = start({ NO_COLOR: '1' });
    await a.waitFor(PROMPT, 30_000);
    a.type('\x04');
    expect((await a.exited).exitCode).toBe(0);
    const b = start({ NO_COLOR: '1' });
    await b.waitFor(PROMPT, 30_000);
    b.type('Exit-PSSession\r');
    expect((await b.exited).exitCode).toBe(0);
    const c = start({ NO_COLOR: '1' });
    await c.waitFor(PROMPT, 30_000);
    c.type('Stop-Process -Id $PID -Force\r');
    const end = await c.exited;
    expect(end.exitCode).toBe(3);
    expect(await c.screen()).toMatch(/FullyQualifiedErrorId : \w+/);
  });

  it('incomplete input switches to the >> prompt until an empty line, as the console host; Ctrl+C drops the block', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    // The screen's last line is the block prompt (a regex without the m flag: $ is the end of the screen).
    const blockPrompt = /\n>> $/;
    t.type('if ($true) {\r');
    await t.waitFor(blockPrompt);
    t.type("'in the block'\r");
    await t.waitFor(blockPrompt);
    t.type('}\r');
    await t.waitFor(blockPrompt);
    await new Promise((r) => setTimeout(r, 300));
    expect(await t.screen()).not.toMatch(/^in the block$/m);
    t.type('\r');
    await t.waitFor(/^in the block$/m);
    await t.waitFor(PROMPT);
    t.type("'a' +\r");
    await t.waitFor(blockPrompt);
    t.type('\x03');
    await t.waitFor(PROMPT);
    t.type("'fresh'\r");
    const screen = await t.waitFor(/^fresh$/m);
    expect(screen).not.toMatch(/^afresh$/m);
    expect(screen).not.toMatch(/You must provide a value expression/);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('Tab completes through the remote TabExpansion2 and cycles through the matches; up-arrow recalls history, kept on disk', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type('Get-ChildI\t');
    await t.waitFor(/> Get-ChildItem$/m);
    t.type('\x15'); // Ctrl+U clears the line
    // Tab cycles through the matches in place, wrapping round; Shift+Tab goes back; text after the cursor stays.
    t.type('$tabAlpha1 = 1; $tabAlpha2 = 2\r');
    await t.waitFor(PROMPT);
    t.type('$tabal + 1');
    t.type('\x1b[D\x1b[D\x1b[D\x1b[D'); // cursor back to just after `$tabal`
    t.type('\t');
    await t.waitFor(/> \$tabAlpha1 \+ 1$/m);
    t.type('\t');
    await t.waitFor(/> \$tabAlpha2 \+ 1$/m);
    t.type('\t');
    await t.waitFor(/> \$tabAlpha1 \+ 1$/m);
    t.type('\x1b[Z'); // Shift+Tab
    await t.waitFor(/> \$tabAlpha2 \+ 1$/m);
    t.type('\r');
    await t.waitFor(/^3$/m);
    t.type("'remember me'\r");
    await t.waitFor(/^remember me$/m);
    t.type('\x1b[A');
    await t.waitFor(/> 'remember me'$/m);
    t.type('\r');
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
    const state = (t as PtySession & { state?: string }).state as string;
    expect(readFileSync(join(state, 'psremote', 'history', 'localhost.txt'), 'utf8')).toContain(
      "'remember me'",
    );
  });

  it('$Host.UI.RawUI.ReadKey reads one key (echoed unless NoEcho), arrows included; the prompt works after', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type(
      '$k = $Host.UI.RawUI.ReadKey("NoEcho,IncludeKeyDown"); "got [$($k.Character)] vk $($k.VirtualKeyCode)"\r',
    );
    await new Promise((r) => setTimeout(r, 700));
    t.type('q');
    await t.waitFor(/^got \[q\] vk 81$/m);
    t.type('$k = $Host.UI.RawUI.ReadKey("IncludeKeyDown"); "vk $($k.VirtualKeyCode)"\r');
    await new Promise((r) => setTimeout(r, 700));
    t.type('\x1b[A');
    await t.waitFor(/^vk 38$/m);
    t.type('$k = $Host.UI.RawUI.ReadKey("IncludeKeyDown"); " <- echoed"\r');
    await new Promise((r) => setTimeout(r, 700));
    t.type('z');
    await t.waitFor(/^z <- echoed$/m);
    t.type('6*7\r');
    await t.waitFor(/^42$/m);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('$Host.UI.RawUI has the terminal size, and a resize shows at the next command', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type(
      '"size $($Host.UI.RawUI.WindowSize.Width)x$($Host.UI.RawUI.WindowSize.Height) buffer $($Host.UI.RawUI.BufferSize.Width)"\r',
    );
    await t.waitFor(/^size 120x30 buffer 120$/m);
    t.resize(150, 40);
    await new Promise((r) => setTimeout(r, 200));
    t.type(
      '"now $($Host.UI.RawUI.WindowSize.Width)x$($Host.UI.RawUI.WindowSize.Height) buffer $($Host.UI.RawUI.BufferSize.Width)"\r',
    );
    await t.waitFor(/^now 150x40 buffer 150$/m);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });

  it('colours Write-Host -ForegroundColor Red, and NO_COLOR turns colours off', async () => {
    const t = start({ NO_COLOR: undefined, TERM: 'xterm-256color' });
    await t.waitFor(PROMPT, 30_000);
    t.type("Write-Host 'alarm' -ForegroundColor Red\r");
    await t.waitFor(/^alarm$/m);
    expect(t.output).toContain('\x1b[91malarm');
    t.type('exit\r');
    await t.exited;
    const plain = start({ NO_COLOR: '1' });
    await plain.waitFor(PROMPT, 30_000);
    plain.type("Write-Host 'calm' -ForegroundColor Red\r");
    await plain.waitFor(/^calm$/m);
    expect(plain.output).not.toContain('\x1b[91m');
    plain.type('exit\r');
    await plain.exited;
  });

  it('shows a progress bar while a command reports progress, and clears it', async () => {
    const t = start({ NO_COLOR: '1' });
    await t.waitFor(PROMPT, 30_000);
    t.type(
      "1..5 | % { Write-Progress -Activity 'Copying' -Status \"$_ of 5\" -PercentComplete ($_*20); Start-Sleep -Milliseconds 300 }; 'done'\r",
    );
    await t.waitFor(/Copying \[o+ *\] \d+%/);
    const after = await t.waitFor(/^done$/m);
    expect(after).not.toMatch(/Copying \[/);
    t.type('exit\r');
    expect((await t.exited).exitCode).toBe(0);
  });
});
