import { describe, expect, it } from 'vitest';
import { defaultAgentSocket } from './ssh-connect.ts';

describe('defaultAgentSocket: where ssh(1) finds the agent', () => {
  it('SSH_AUTH_SOCK; on Windows without it, the OpenSSH agent pipe; else none', () => {
    expect(defaultAgentSocket({ SSH_AUTH_SOCK: '/run/agent.sock' }, 'linux')).toBe('/run/agent.sock');
    expect(defaultAgentSocket({ SSH_AUTH_SOCK: '\\\\.\\pipe\\mine' }, 'win32')).toBe('\\\\.\\pipe\\mine');
    expect(defaultAgentSocket({}, 'win32')).toBe('\\\\.\\pipe\\openssh-ssh-agent');
    expect(defaultAgentSocket({}, 'linux')).toBeUndefined();
  });
});
