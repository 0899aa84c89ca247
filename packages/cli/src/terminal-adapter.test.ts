import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateDirectory } from './terminal-adapter.ts';

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
