import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_STATE_HOME/psremote, else ~/.local/state/psremote; on Windows %LOCALAPPDATA%\\psremote. */
export function stateDirectory(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'psremote');
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'psremote');
  return join(env.HOME ?? homedir(), '.local', 'state', 'psremote');
}

/** Lines of history kept for a target; the file is cut back to them once it holds twice as many. */
export const HISTORY_SIZE = 1000;

/**
 * The history of a target, newest first (readline's order), at most HISTORY_SIZE entries. A file grown past twice
 * that is rewritten with its newest HISTORY_SIZE lines, so it never grows without bound.
 */
export function loadHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
  if (lines.length > 2 * HISTORY_SIZE) {
    lines = lines.slice(-HISTORY_SIZE);
    try {
      writeFileSync(file, `${lines.join('\n')}\n`);
    } catch {
      // a read-only history stays as it is
    }
  }
  return lines.reverse().slice(0, HISTORY_SIZE);
}
