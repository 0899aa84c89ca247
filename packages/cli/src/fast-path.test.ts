import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rawUiSnapshot } from './agent/relay-host-ui.ts';
import {
  codeCacheDirectory,
  earlySelector,
  readCodeCache,
  usesHeldSession,
  writeCodeCache,
} from './fast-path.ts';
import { TerminalHostUi } from './terminal/host-ui.ts';
import { startRawUi } from './terminal/raw-ui-start.ts';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

describe('usesHeldSession (which build bin.js runs)', () => {
  it('takes the commands on a session the agent holds', () => {
    expect(usesHeldSession(['enter', '-Name', 'web'])).toBe(true);
    expect(usesHeldSession(['enter', '-id', '7'])).toBe(true);
    expect(
      usesHeldSession(['invoke', '-InstanceId:7c1f3f6e-0000-0000-0000-000000000000', '-Command', '1']),
    ).toBe(true);
    expect(usesHeldSession(['get'])).toBe(true);
    expect(usesHeldSession(['remove', '-Name', 'web'])).toBe(true);
  });

  it('leaves the rest to the modules (fresh sessions, new, the agent itself)', () => {
    expect(usesHeldSession([])).toBe(false);
    expect(usesHeldSession(['__agent'])).toBe(false);
    expect(usesHeldSession(['new', '-Name', 'web', '-HostName', 'h'])).toBe(false);
    expect(usesHeldSession(['enter', '-HostName', 'h'])).toBe(false);
    expect(usesHeldSession(['enter', '-ComputerName', 'Id'])).toBe(false);
    expect(usesHeldSession(['invoke', '-HostName', 'h', '-Command', '-Identity'])).toBe(false);
  });
});

describe('earlySelector (what bin.js asks the agent for before the CLI loads)', () => {
  it('takes `enter` with one plainly written -Id, -Name or -InstanceId and nothing else', () => {
    expect(earlySelector(['enter', '-Name', 'web'])).toEqual({ name: 'web' });
    expect(earlySelector(['enter', '-name:web'])).toEqual({ name: 'web' });
    expect(earlySelector(['enter', '-Id', '12'])).toEqual({ id: 12 });
    const guid = '7c1f3f6e-0000-4000-8000-000000000001';
    expect(earlySelector(['enter', '-InstanceId', guid])).toEqual({ instanceId: guid });
  });

  it('leaves everything else to the binder', () => {
    for (const argv of [
      ['enter'],
      ['invoke', '-Name', 'web'],
      ['enter', '-Name', 'web', '--no-color'],
      ['enter', '-Name'],
      ['enter', '-Name:web', 'x'],
      ['enter', '-N', 'web'],
      ['enter', '-Name', 'we*'],
      ['enter', '-Name', '-Id'],
      ['enter', '-Id', '0x10'],
      ['enter', '-Id', '007'],
      ['enter', '-InstanceId', 'not-a-guid'],
      ['enter', '-HostName', 'web'],
    ])
      expect(earlySelector(argv), argv.join(' ')).toBeUndefined();
  });

  it("sends the RawUI a terminal's host starts with (TerminalHostUi), for the prompt function", () => {
    const out = { isTTY: true, columns: 97, rows: 31, write: () => true } as unknown as NodeJS.WriteStream;
    const ui = new TerminalHostUi(
      { stdin: {} as NodeJS.ReadStream, stdout: out, stderr: out },
      { colors: false, readline: () => ({}) as Interface },
    );
    expect(startRawUi(97, 31)).toEqual(rawUiSnapshot(ui));
    const narrow = { ...out, columns: 0, rows: 0 } as unknown as NodeJS.WriteStream;
    const ui2 = new TerminalHostUi(
      { stdin: {} as NodeJS.ReadStream, stdout: narrow, stderr: out },
      { colors: false, readline: () => ({}) as Interface },
    );
    expect(startRawUi(undefined, undefined)).toEqual(rawUiSnapshot(ui2));
  });
});

describe('dist/run.bundle.cjs (pnpm build)', () => {
  it('is the same CLI: it answers as the modules do', () => {
    expect(existsSync(`${DIST}run.bundle.cjs`)).toBe(true);
    // No session held anywhere: the same refusal from both builds.
    const run = (load: string) => {
      try {
        execFileSync(
          process.execPath,
          ['--input-type=module', '-e', `${load}.then((m) => m.run(['remove']))`],
          {
            encoding: 'utf8',
            stdio: 'pipe',
            env: { ...process.env, NO_COLOR: '1', PSREMOTE_CODE_CACHE: '0' },
          },
        );
        return 'exit 0';
      } catch (e) {
        const err = e as { status: number; stderr: string };
        return `exit ${err.status}: ${err.stderr}`;
      }
    };
    const fromBundle = run(
      `import(${JSON.stringify(`${DIST}fast-path.js`)}).then((f) => f.loadBundle(${JSON.stringify(`${DIST}run.bundle.cjs`)}, process.env))`,
    );
    expect(fromBundle).toMatch(/MissingMandatoryParameter/);
    expect(fromBundle).toBe(run(`import(${JSON.stringify(`${DIST}run.js`)})`));
    const text = readFileSync(`${DIST}run.bundle.cjs`, 'utf8');
    // The bundle carries core and psrp: it requires neither package. It is ASCII and says which build it is.
    expect(text).not.toMatch(/require\("@psremote\//);
    expect(text).toMatch(/^\/\/ psremote-bundle [0-9a-f]{16}\n/);
    expect(/[^\x00-\x7f]/.test(text)).toBe(false);
  });
});

describe("dist/bin.cjs (package.json's psremote)", () => {
  it('answers as dist/bin.js does, for a held-session command and any other', () => {
    const env = { ...process.env, NO_COLOR: '1', PSREMOTE_CODE_CACHE: '0' };
    for (const args of [['remove'], ['--version'], ['enter', '-Bogus']]) {
      const a = spawnSync(process.execPath, [`${DIST}bin.cjs`, ...args], { encoding: 'utf8', env });
      const b = spawnSync(process.execPath, [`${DIST}bin.js`, ...args], { encoding: 'utf8', env });
      expect(a.stdout + a.stderr).not.toBe('');
      expect([a.status, a.stdout, a.stderr]).toEqual([b.status, b.stdout, b.stderr]);
    }
    expect(JSON.parse(readFileSync(`${DIST}../package.json`, 'utf8')).bin.psremote).toBe('./dist/bin.cjs');
  });
});

describe('the code cache of the bundle', () => {
  const bin = `${DIST}bin.js`;
  /** `psremote remove` (no agent, nothing to remove: MissingMandatoryParameter) with the cache in `cacheDir`. */
  const remove = (cacheDir: string, extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [bin, 'remove'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        NO_COLOR: '1',
        PSREMOTE_TRACE_TIMING: '1',
        PSREMOTE_CODE_CACHE_DIR: cacheDir,
        ...extra,
      },
    });
  const cacheFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.v8cache'));

  it('is written after a first run, used by the next, and the CLI answers the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    try {
      const first = remove(dir);
      expect(first.stderr).toMatch(/code cache: none usable/);
      expect(first.stderr).toMatch(/code cache: written to /);
      expect(cacheFiles(dir)).toHaveLength(1);
      const second = remove(dir);
      expect(second.stderr).toMatch(/code cache: used/);
      expect(second.stderr).not.toMatch(/code cache: written/);
      const strip = (t: string) => t.replace(/^psremote timing: .*\n/gm, '');
      expect(strip(second.stderr)).toBe(strip(first.stderr));
      expect(strip(second.stderr)).toMatch(/MissingMandatoryParameter/);
      expect(second.status).toBe(first.status);
      // PSREMOTE_CODE_CACHE=0: none read, none written.
      const off = remove(dir, { PSREMOTE_CODE_CACHE: '0' });
      expect(off.stderr).toMatch(/no code cache/);
      expect(strip(off.stderr)).toBe(strip(first.stderr));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a damaged, foreign or stale cache is refused or rejected, never breaks the CLI, and is replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    try {
      remove(dir);
      const [name] = cacheFiles(dir);
      const path = join(dir, name as string);
      const good = readFileSync(path);
      const payload = readCodeCache(path);
      expect(payload?.length).toBe((good.length - 12) / 2);
      // One copy damaged (a flipped byte in the middle): refused before V8 reads it.
      const damaged = Buffer.from(good);
      const at = 12 + Math.floor((payload?.length ?? 0) / 2);
      damaged[at] = (damaged[at] as number) ^ 0xff;
      writeFileSync(path, damaged);
      expect(readCodeCache(path)).toBeUndefined();
      let r = remove(dir);
      expect(r.stderr).toMatch(/code cache: none usable/);
      expect(r.stderr).toMatch(/MissingMandatoryParameter/);
      expect(readFileSync(path).equals(good)).toBe(false); // replaced by a sound one
      expect(readCodeCache(path)).toBeDefined();
      // Truncated, and not a cache at all.
      for (const bytes of [good.subarray(0, good.length - 100), Buffer.from('not a cache')]) {
        writeFileSync(path, bytes);
        expect(readCodeCache(path)).toBeUndefined();
        expect(remove(dir).stderr).toMatch(/MissingMandatoryParameter/);
      }
      // Well formed for us, but not V8's (another Node, another bundle): V8 rejects it, the CLI goes on.
      expect(writeCodeCache(path, Buffer.from('x'.repeat(4096)))).toBe(true);
      r = remove(dir);
      expect(r.stderr).toMatch(/code cache: rejected by V8/);
      expect(r.stderr).toMatch(/MissingMandatoryParameter/);
      expect(remove(dir).stderr).toMatch(/code cache: used/);
      // A cache of another bundle (an older build) is removed when the new one is written.
      writeFileSync(join(dir, 'run.bundle-0000000000000000-v0-x64.v8cache'), good);
      rmSync(path);
      remove(dir);
      expect(cacheFiles(dir)).toEqual([name]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform === 'win32')('is not read from a file or directory others can write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    try {
      remove(dir);
      const [name] = cacheFiles(dir);
      const path = join(dir, name as string);
      expect(readCodeCache(path)).toBeDefined();
      chmodSync(path, 0o666);
      expect(readCodeCache(path)).toBeUndefined();
      chmodSync(path, 0o600);
      chmodSync(dir, 0o777);
      expect(readCodeCache(path)).toBeUndefined();
      expect(writeCodeCache(path, Buffer.from('x'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a cache directory that cannot be written leaves the CLI working (a read-only home)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-cc-'));
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, '');
      // Under a regular file no directory can be made, whoever runs the test (root ignores mode bits).
      const r = remove(join(file, 'cache'));
      expect(r.stderr).toMatch(/code cache: not written/);
      expect(r.stderr).toMatch(/MissingMandatoryParameter/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lives in the user cache directory', () => {
    expect(codeCacheDirectory({ HOME: '/home/u' }, 'linux')).toBe('/home/u/.cache/psremote');
    expect(codeCacheDirectory({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg' }, 'linux')).toBe('/xdg/psremote');
    expect(codeCacheDirectory({ HOME: '/home/u', XDG_CACHE_HOME: 'relative' }, 'linux')).toBe(
      '/home/u/.cache/psremote',
    );
    expect(codeCacheDirectory({ HOME: '/home/u', PSREMOTE_CODE_CACHE: '0' }, 'linux')).toBeUndefined();
    expect(codeCacheDirectory({}, 'linux')).toBeUndefined();
    expect(codeCacheDirectory({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toMatch(
      /psremote[\\/]cache$/,
    );
  });
});

describe('invoke on a session the agent does not hold (no agent running)', () => {
  it('fails in Get-PSSession, as `Invoke-Command -Session (Get-PSSession -Id 7)` does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-fast-path-'));
    try {
      const r = spawnSync(process.execPath, [`${DIST}bin.js`, 'invoke', '-Id', '7', '-Command', '1'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', PSREMOTE_AGENT_DIR: dir },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^Get-PSSession: The remote session with the session ID 7 is not available\.$/m,
      );
      expect(r.stderr).toMatch(
        /FullyQualifiedErrorId : RemoteRunspaceNotAvailableForSpecifiedSessionId,Microsoft\.PowerShell\.Commands\.GetPSSessionCommand/,
      );
      const enter = spawnSync(process.execPath, [`${DIST}bin.js`, 'enter', '-Id', '7'], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', PSREMOTE_AGENT_DIR: dir },
      });
      expect(enter.stderr).toMatch(
        /^Enter-PSSession: The remote session with the session ID 7 is not available\.$/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
