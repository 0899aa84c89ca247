import {
  DEFAULT_SESSION_OPTIONS,
  satisfiesApiRange,
  TRANSPORT_API,
  TransportPluginToken,
} from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { register, SSH_SERVER_ERROR_PREFIX, sshTransport } from './ssh-transport.ts';

describe('the ssh TransportPlugin', () => {
  it('serves SSHHost under the kernel API', () => {
    expect(sshTransport.name).toBe('ssh');
    expect(sshTransport.parameterSets).toEqual(['SSHHost']);
    expect(satisfiesApiRange(TRANSPORT_API, sshTransport.apiRange)).toBe(true);
    expect(SSH_SERVER_ERROR_PREFIX).toBe('__NamedPipeError__:');
  });

  it('register() puts it in the container under TransportPluginToken', () => {
    const calls: [symbol, unknown][] = [];
    register({ register: (token, provider) => calls.push([token, provider]) });
    expect(calls).toEqual([[TransportPluginToken, { useValue: sshTransport }]]);
  });

  it('connect refuses a target it did not resolve', async () => {
    const ctx = {
      hostUi: {} as never,
      signal: new AbortController().signal,
      log: { debug() {}, warn() {} },
      env: {},
      options: DEFAULT_SESSION_OPTIONS,
    };
    await expect(
      // A target from elsewhere (a JavaScript caller): the type would refuse it, the plugin refuses it too.
      sshTransport.connect({ computerName: 'x', prompt: { kind: 'prefix', text: '[x]: ' } } as never, ctx),
    ).rejects.toThrow(TypeError);
  });
});
