import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendPrivateFile } from './private-file.ts';

const mode = (p: string) => statSync(p).mode & 0o777;

let base: string;
let savedUmask: number;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'psremote-private-'));
  chmodSync(base, 0o755);
  savedUmask = process.umask();
});
afterEach(() => {
  process.umask(savedUmask);
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(process.platform === 'win32')('appendPrivateFile (the command history)', () => {
  it.each([0o000, 0o022, 0o277])('creates directories 0700 and the file 0600 under umask %o', (umask) => {
    process.umask(umask);
    const state = join(base, 'state'); // $XDG_STATE_HOME, missing too
    const own = join(state, 'psremote');
    const file = join(own, 'history', 'localhost.txt');
    appendPrivateFile(file, 'one\n', own);
    appendPrivateFile(file, 'two\n', own); // still writable after a umask that removes the owner's bits
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    expect(mode(state)).toBe(0o700);
    expect(mode(own)).toBe(0o700);
    expect(mode(join(own, 'history'))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(base)).toBe(0o755); // an existing directory above psremote's own is not ours
  });

  it('never changes the mode of what a symbolic link points to (a linked history file, a linked directory)', () => {
    const own = join(base, 'psremote');
    mkdirSync(own, { mode: 0o700 });
    const elsewhere = join(base, 'shared');
    mkdirSync(elsewhere);
    chmodSync(elsewhere, 0o755);
    const target = join(elsewhere, 'history.txt');
    writeFileSync(target, 'old\n');
    chmodSync(target, 0o644);
    symlinkSync(elsewhere, join(own, 'history'));
    const file = join(own, 'history', 'h.txt');
    symlinkSync(target, join(elsewhere, 'h.txt'));
    appendPrivateFile(file, 'new\n', own);
    expect(readFileSync(target, 'utf8')).toBe('old\nnew\n');
    expect(mode(target)).toBe(0o644);
    expect(mode(elsewhere)).toBe(0o755);
  });

  it("tightens psremote's own existing directories and file that others could read", () => {
    const own = join(base, 'psremote');
    mkdirSync(join(own, 'history'), { recursive: true });
    chmodSync(own, 0o777);
    chmodSync(join(own, 'history'), 0o755);
    const file = join(own, 'history', 'srv.txt');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o644);
    appendPrivateFile(file, 'new\n', own);
    expect(mode(own)).toBe(0o700);
    expect(mode(join(own, 'history'))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(base)).toBe(0o755);
    expect(readFileSync(file, 'utf8')).toBe('old\nnew\n');
  });

  it("removes only others' bits: the owner's are never added", () => {
    const own = join(base, 'psremote');
    mkdirSync(join(own, 'history'), { recursive: true });
    chmodSync(own, 0o750);
    const file = join(own, 'history', 'ro.txt');
    writeFileSync(file, '');
    chmodSync(file, 0o444); // made read-only by the user: stays read-only (the append fails, except for root)
    try {
      appendPrivateFile(file, 'x\n', own);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('EACCES');
    }
    expect(mode(file)).toBe(0o400);
    expect(mode(own)).toBe(0o700);
  });
});
