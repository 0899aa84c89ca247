import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, havePwsh, PWSH_PATH } from './local-pwsh.ts';
import { PtySession } from './pty/harness.ts';

/**
 * psremote made to end early, against real pwsh: a reader that goes away (`| head -1`), SIGTERM, SIGHUP. Each
 * run prints the server's $PID first; the server process must be gone when psremote has exited (psremote closed
 * the session and reaped it), psremote must say nothing, and its status is 128 + the signal.
 */
const env = { ...process.env, PATH: PWSH_PATH, NO_COLOR: '1' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Ended {
  readonly status: number | null;
  readonly stderr: string;
  /** The server's $PID (the first line psremote printed). */
  readonly serverPid: number;
  /** Whether the server process still existed the moment psremote had exited. */
  readonly serverAliveAtExit: boolean;
  readonly ms: number;
}

/**
 * Runs psremote; once it printed the server's $PID, does `act` to it: close the read end of its stdout or
 * stderr, or send it a signal.
 */
function runThenEnd(
  args: readonly string[],
  act: 'close-stdout' | 'close-stderr' | NodeJS.Signals,
  stdin?: string,
): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let serverPid: number | undefined;
    let actedAt = 0;
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.stdout.on('data', (d) => {
      out += String(d);
      const m = /^(\d+)\r?\n/.exec(out);
      if (serverPid !== undefined || !m) return;
      serverPid = Number(m[1]);
      // A moment for the command to be well under way.
      setTimeout(() => {
        actedAt = Date.now();
        if (act === 'close-stdout') child.stdout.destroy();
        else if (act === 'close-stderr') child.stderr.destroy();
        else child.kill(act);
      }, 300);
    });
    if (stdin === undefined) child.stdin.end();
    else child.stdin.write(stdin); // left open: psremote is still reading when it is made to end
    child.on('error', reject);
    child.on('exit', (status) => {
      if (serverPid === undefined) {
        reject(new Error(`psremote ended (${status}) before printing the server's pid: ${err}`));
        return;
      }
      const serverAliveAtExit = alive(serverPid);
      if (serverAliveAtExit) process.kill(serverPid, 'SIGKILL');
      resolve({ status, stderr: err, serverPid, serverAliveAtExit, ms: Date.now() - actedAt });
    });
  });
}

// Each case starts a real pwsh: slow on a loaded machine.
describe.skipIf(!havePwsh(env))('psremote ended early, against real pwsh', { timeout: 90_000 }, () => {
  it('invoke | head -1: the closed stdout ends it quietly with 141, the server gone', async () => {
    const r = await runThenEnd(
      ['invoke', '-Command', '$PID; 1..100000 | % { $_; Start-Sleep -Milliseconds 5 }'],
      'close-stdout',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(141);
    expect(r.serverAliveAtExit).toBe(false);
  });

  it('enter with a script on stdin, stdout closed: 141, quiet, the server gone, the rest of the script not run', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'psremote-end-')), 'ran');
    const r = await runThenEnd(
      ['enter'],
      'close-stdout',
      `$PID\n1..100000 | % { $_; Start-Sleep -Milliseconds 5 }\nSet-Content -LiteralPath '${marker}' -Value ran\n`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(141);
    expect(r.serverAliveAtExit).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('a closed stderr ends it the same way', async () => {
    const r = await runThenEnd(
      [
        'invoke',
        '-Command',
        '$PID; Start-Sleep -Milliseconds 500; 1..100000 | % { Write-Error "e$_"; Start-Sleep -Milliseconds 5 }',
      ],
      'close-stderr',
    );
    expect(r.status).toBe(141);
    expect(r.serverAliveAtExit).toBe(false);
  });

  it('SIGTERM while a command runs: the command stopped, the session closed, the server gone, status 143', async () => {
    const r = await runThenEnd(['invoke', '-Command', '$PID; Start-Sleep 120; "never"'], 'SIGTERM');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(143);
    expect(r.serverAliveAtExit).toBe(false);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('SIGHUP to enter waiting for input, and SIGTERM to enter running a command: 129 and 143', async () => {
    const idle = await runThenEnd(['enter'], 'SIGHUP', '$PID\n');
    expect(idle.stderr).toBe('');
    expect(idle.status).toBe(129);
    expect(idle.serverAliveAtExit).toBe(false);
    const busy = await runThenEnd(['enter'], 'SIGTERM', '$PID\nStart-Sleep 120\n"never"\n');
    expect(busy.stderr).toBe('');
    expect(busy.status).toBe(143);
    expect(busy.serverAliveAtExit).toBe(false);
  });

  it('SIGHUP to an interactive session in a terminal (the terminal closed): 129, the server gone', async () => {
    const t = new PtySession(process.execPath, [BIN, 'enter'], { env, cwd: '/' });
    try {
      await t.waitFor(/\[localhost\]: PS \/\S*> $/m, 60_000);
      t.type('$PID\r');
      const screen = await t.waitFor(/^\d+$/m);
      const serverPid = Number(/^(\d+)$/m.exec(screen)?.[1]);
      await t.waitFor(/\[localhost\]: PS \/\S*> $/m);
      expect(alive(serverPid)).toBe(true);
      t.pty.kill('SIGHUP');
      expect((await t.exited).exitCode).toBe(129);
      const gone = !alive(serverPid);
      if (!gone) process.kill(serverPid, 'SIGKILL');
      expect(gone).toBe(true);
    } finally {
      t.kill();
    }
  });
});
