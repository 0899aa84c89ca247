import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The command history holds what the user typed (paths, host names, sometimes a secret pasted on the command
 * line), so psremote keeps it private, as shells keep theirs: directories 0700 and files 0600 whatever the
 * umask (a umask only ever removes bits, but `umask 277` would leave a directory we cannot write, so what we
 * create is set to the exact mode). psremote's own directories and files that are group- or other-accessible
 * (made by an older psremote, or by hand) lose those bits; the owner's bits are left as they are. On Windows
 * modes do not apply (the profile directory is private already) and nothing is changed.
 */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** `inner` is `outer` or inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Removes group and other bits (never adds any). A symbolic link is left alone: chmod would change what it points
 * to (a history file the user linked elsewhere on purpose, or a file that is not psremote's at all).
 */
function tighten(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  const mode = st.mode & 0o777;
  if (mode & 0o077) chmodSync(path, mode & 0o700);
}

/**
 * Makes `dir` and its missing parents 0700. Directories from `ownRoot` (psremote's state directory) down to
 * `dir` that already exist are tightened; existing directories above `ownRoot` (the user's home, ~/.local) are
 * not ours and are never touched.
 */
export function ensurePrivateDirectory(
  dir: string,
  ownRoot: string,
  platform: NodeJS.Platform = process.platform,
): void {
  const target = resolve(dir);
  const root = resolve(ownRoot);
  const firstCreated = mkdirSync(target, { recursive: true, mode: PRIVATE_DIR });
  if (platform === 'win32') return;
  for (let d = target; ; d = dirname(d)) {
    const created = firstCreated !== undefined && within(d, resolve(firstCreated));
    if (created) chmodSync(d, PRIVATE_DIR);
    else if (within(d, root)) tighten(d);
    else break;
    if (dirname(d) === d) break;
  }
}

/** Files already checked (and tightened) by this process: one stat per file, not one per line. */
const checked = new Set<string>();

/**
 * Appends `text` to `file`, which is created 0600 (its directories as ensurePrivateDirectory makes them); an
 * existing file that others can read is tightened once per process.
 */
export function appendPrivateFile(
  file: string,
  text: string,
  ownRoot: string,
  platform: NodeJS.Platform = process.platform,
): void {
  const path = resolve(file);
  if (checked.has(path)) {
    appendFileSync(path, text, { mode: PRIVATE_FILE });
    return;
  }
  ensurePrivateDirectory(dirname(path), ownRoot, platform);
  const existed = existsSync(path);
  // An existing file is tightened before anything more is written to it.
  if (existed && platform !== 'win32') tighten(path);
  appendFileSync(path, text, { mode: PRIVATE_FILE });
  if (!existed && platform !== 'win32') chmodSync(path, PRIVATE_FILE);
  checked.add(path);
}
