import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, havePwsh, LOCAL_PROMPT, PWSH_PATH } from './local-pwsh.ts';
import { PtySession } from './pty/harness.ts';

const baseEnv = { PATH: PWSH_PATH, NO_COLOR: '1' };

let s: PtySession | undefined;
afterEach(() => s?.kill());

const PROMPT = LOCAL_PROMPT;
/** The screen's last line is an empty prompt (no m flag: $ is the end of the screen). */
const LAST_PROMPT = /\[localhost\]: PS \/\S*> $/;

function start(): PtySession {
  const state = mkdtempSync(join(tmpdir(), 'psremote-state-'));
  s = new PtySession(process.execPath, [BIN, 'enter'], {
    env: { ...baseEnv, XDG_STATE_HOME: state },
    cwd: '/',
  });
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!havePwsh(baseEnv))(
  'type-ahead: keys typed while a command runs go to the next reader',
  () => {
    it('an answer typed before Read-Host asks answers it, echoed after its prompt, not during the output', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type("'before'; Start-Sleep -Milliseconds 1500; $n = Read-Host 'Your name'; \"hello $n\"\r");
      await t.waitFor(/^before$/m);
      t.type('Ada\r'); // typed while the command sleeps, before Read-Host asks
      await sleep(300);
      // Not echoed while the command runs: it is shown when its reader takes it.
      expect(await t.screen()).not.toMatch(/Ada/);
      const screen = await t.waitFor(/^hello Ada$/m);
      expect(screen).toMatch(/^Your name: Ada$/m);
      await t.waitFor(LAST_PROMPT);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('two command lines pasted at once run in order, each echoed at its own prompt', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type("Start-Sleep -Milliseconds 800; 'first'\r'second'\r");
      const screen = await t.waitFor(/^second$/m);
      const lines = screen.split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const p1 = at(/> Start-Sleep -Milliseconds 800; 'first'$/);
      const o1 = at(/^first$/);
      const p2 = at(/> 'second'$/);
      const o2 = at(/^second$/);
      expect(p1).toBeGreaterThanOrEqual(0);
      expect([p1, o1, p2, o2]).toEqual([p1, p1 + 1, p1 + 2, p1 + 3]);
      await t.waitFor(LAST_PROMPT);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('a pasted multi-line block runs as typed, through block mode', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      // Indented with a Tab: in a paste it is indentation, not completion.
      t.type("if ($true) {\n\t'in the block'\n}\n\n'after the block'\n");
      const screen = await t.waitFor(/^after the block$/m);
      expect(screen).toMatch(/> if \(\$true\) \{\n>> +'in the block'\n>> \}\n>> \nin the block\n/);
      await t.waitFor(LAST_PROMPT);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('a resize while a command runs does not redraw the prompt into its output', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type("'a'; Start-Sleep -Milliseconds 1500; 'b'\r");
      await t.waitFor(/^a$/m);
      t.resize(100, 30);
      const screen = await t.waitFor(/^b$/m);
      expect(screen).toMatch(/^a\nb$/m);
      expect(screen).not.toMatch(/> b$/m);
      await t.waitFor(LAST_PROMPT);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('Tab typed ahead completes when the line editor takes it', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type("Start-Sleep -Milliseconds 2500; 'slept'\r");
      await sleep(200);
      // Typed, not pasted: the Tab comes in a read of its own (a Tab amid other keys of one read is pasted text).
      t.type('Get-ChildI');
      await sleep(600);
      t.type('\t');
      await sleep(600);
      t.type(' -Path /dev/null | % Name\r');
      const screen = await t.waitFor(/^null$/m);
      // Typed while the command ran: nothing of it shows before the command's output.
      expect(screen).toMatch(/^slept\n.*> Get-ChildItem/m);
      expect(screen).toMatch(/> Get-ChildItem -Path \/dev\/null \| % Name$/m);
      await t.waitFor(LAST_PROMPT);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('Ctrl+C stops the command and discards what was typed ahead, as a terminal does (ISIG without NOFLSH)', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type("Start-Sleep -Seconds 30; 'not reached'\r");
      await sleep(500);
      t.type("'typed ahead'\r");
      await sleep(100);
      t.type('\x03');
      await t.waitFor(LAST_PROMPT);
      await sleep(500);
      const screen = await t.screen();
      expect(screen).not.toMatch(/typed ahead/);
      expect(screen).not.toMatch(/^not reached$/m);
      t.type("'fresh'\r");
      await t.waitFor(/^fresh$/m);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });

    it('a masked prompt and ReadKey take keys typed ahead; what follows stays for the next reader', async () => {
      const t = start();
      await t.waitFor(PROMPT, 30_000);
      t.type(
        "Start-Sleep -Milliseconds 800; $p = Read-Host -AsSecureString 'Pin'; $k = $Host.UI.RawUI.ReadKey('NoEcho,IncludeKeyDown'); \"pin $([System.Net.NetworkCredential]::new('', $p).Password) key $($k.Character)\"\r",
      );
      await sleep(200);
      t.type("1234\rq'next'\r");
      const screen = await t.waitFor(/^next$/m);
      expect(screen).toMatch(/^Pin: \*\*\*\*$/m);
      expect(screen).toMatch(/^pin 1234 key q$/m);
      expect(screen).toMatch(/> 'next'$/m);
      t.type('exit\r');
      expect((await t.exited).exitCode).toBe(0);
    });
  },
);
