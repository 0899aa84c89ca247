import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import {
  formatLocalError,
  HISTORY_SIZE,
  loadHistory,
  MAX_LOCAL_ERROR_MESSAGE,
  stateDirectory,
} from './terminal-adapter.ts';

describe('stateDirectory: where the history is kept', () => {
  it('XDG_STATE_HOME first, then ~/.local/state; %LOCALAPPDATA% on Windows', () => {
    expect(stateDirectory({ XDG_STATE_HOME: '/x', HOME: '/h' }, 'linux')).toBe(join('/x', 'psremote'));
    expect(stateDirectory({ HOME: '/h' }, 'darwin')).toBe(join('/h', '.local', 'state', 'psremote'));
    expect(stateDirectory({ LOCALAPPDATA: '/appdata', HOME: '/h' }, 'win32')).toBe(
      join('/appdata', 'psremote'),
    );
    expect(stateDirectory({ LOCALAPPDATA: '/appdata', HOME: '/h' }, 'linux')).toBe(
      join('/h', '.local', 'state', 'psremote'),
    );
  });
});

describe('loadHistory: the history file of a target', () => {
  it('newest first, at most HISTORY_SIZE; a file past twice that is cut back to its newest lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psremote-history-'));
    try {
      const file = join(dir, 'h.txt');
      expect(loadHistory(file)).toEqual([]);
      writeFileSync(file, 'a\nb\n\nc\n');
      expect(loadHistory(file)).toEqual(['c', 'b', 'a']);
      const many = Array.from({ length: 2 * HISTORY_SIZE + 5 }, (_, i) => `cmd ${i}`);
      writeFileSync(file, `${many.join('\n')}\n`);
      const h = loadHistory(file);
      expect(h).toHaveLength(HISTORY_SIZE);
      expect(h[0]).toBe(`cmd ${2 * HISTORY_SIZE + 4}`);
      const kept = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      expect(kept).toHaveLength(HISTORY_SIZE);
      expect(kept.at(-1)).toBe(`cmd ${2 * HISTORY_SIZE + 4}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('formatLocalError', () => {
  it('cuts a message that quotes megabytes of server data, says so, and keeps the error id in sight', () => {
    const e = new PSRemotingError(
      `the server sent data the client cannot read: <D>${'9'.repeat(200_000)}</D>`,
      {
        errorId: 'PsrpMalformedMessage',
        category: 'ProtocolError',
      },
    );
    const text = formatLocalError(e);
    expect(text.length).toBeLessThan(MAX_LOCAL_ERROR_MESSAGE + 400);
    expect(text).toMatch(/\.\.\. \(\d+ more characters\)/);
    expect(text).toMatch(/FullyQualifiedErrorId : PsrpMalformedMessage/);
    const short = new PSRemotingError('short', { errorId: 'X', category: 'ProtocolError' });
    expect(formatLocalError(short)).toMatch(/^Enter-PSSession: short\n/);
  });
});
