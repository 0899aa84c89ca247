import { openSession, RecordingHostUi } from '@psremote/core';
import { describe, expect, inject, it } from 'vitest';
import { createProcessTransport } from '../src/process-transport.ts';

const pwshPath = inject('pwshPath');

describe.skipIf(!pwshPath)('the environment of the real pwsh child', () => {
  it("has the user's variables, not psremote's, Node's for psremote, or what npx added", async () => {
    const env = {
      ...process.env,
      PATH: `/tmp/app/node_modules/.bin:${process.env.PATH}`,
      PSREMOTE_ENV_PROBE: 'psremote',
      NODE_OPTIONS: '--no-warnings',
      npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
      npm_lifecycle_event: 'npx',
      INIT_CWD: '/tmp/app',
      USER_ENV_PROBE: 'mine',
    };
    const session = await openSession({
      transport: createProcessTransport({ pwshPath }),
      hostUi: new RecordingHostUi(),
      env,
    });
    try {
      const r = await session
        .invoke(
          '"$env:USER_ENV_PROBE|$env:PSREMOTE_ENV_PROBE|$env:NODE_OPTIONS|$env:npm_lifecycle_event|$env:INIT_CWD|$(($env:PATH -split [IO.Path]::PathSeparator) -contains "/tmp/app/node_modules/.bin")"',
        )
        .result();
      expect(r.output).toEqual(['mine|||||False']);
    } finally {
      await session.close();
    }
  });

  it('the env option sets it exactly', async () => {
    const session = await openSession({
      transport: createProcessTransport({
        pwshPath,
        env: { ...process.env, NODE_OPTIONS: '--no-warnings', PSREMOTE_ENV_PROBE: 'kept' },
      }),
      hostUi: new RecordingHostUi(),
    });
    try {
      const r = await session.invoke('"$env:NODE_OPTIONS|$env:PSREMOTE_ENV_PROBE"').result();
      expect(r.output).toEqual(['--no-warnings|kept']);
    } finally {
      await session.close();
    }
  });
});
