import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BoundValue, isPSRemotingError } from '@psremote/core';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSshTarget } from './resolve-target.ts';

const home = mkdtempSync(join(tmpdir(), 'psremote-resolve-'));
mkdirSync(join(home, '.ssh'));
const keyFile = join(home, 'key');
writeFileSync(keyFile, 'not really a key');
const systemConfig = join(home, 'ssh_config');
writeFileSync(systemConfig, 'Host *\n  HashKnownHosts yes\n  Port 2200\n  User sysuser\n');
afterAll(() => rmSync(home, { recursive: true, force: true }));

const env = { HOME: home, USER: 'me' };
function resolve(bound: Record<string, BoundValue>, config = '', systemConfigPath: string | null = null) {
  writeFileSync(join(home, '.ssh', 'config'), config);
  return resolveSshTarget({ parameterSet: 'SSHHost', bound }, env, { systemConfigPath });
}
function errorOf(f: () => unknown) {
  try {
    f();
  } catch (e) {
    if (isPSRemotingError(e)) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('resolveSshTarget: PowerShell parameters', () => {
  it('defaults: local user, port 22, subsystem powershell, ask about unknown keys, default identities', () => {
    const t = resolve({ HostName: 'server' });
    expect(t).toMatchObject({
      computerName: 'server',
      hostName: 'server',
      user: 'me',
      port: 22,
      subsystem: 'powershell',
      strictHostKeyChecking: 'ask',
      displayName: 'server',
      prompt: { kind: 'prefix', text: '[server]: ' },
      userKnownHostsFiles: [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')],
    });
    expect(t.identityFiles.map((f) => f.path)).toEqual(
      ['id_rsa', 'id_ecdsa', 'id_ed25519', 'id_dsa'].map((n) => join(home, '.ssh', n)),
    );
    expect(t.identityFiles.every((f) => !f.explicit)).toBe(true);
  });

  it('user and port embedded in -HostName beat -UserName and -Port', () => {
    const t = resolve({ HostName: 'alice@server:2022', UserName: 'bob', Port: 2200 });
    expect(t).toMatchObject({ user: 'alice', port: 2022, displayName: '[server]:2022' });
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[alice@server]: ' });
  });

  it('-UserName and -Port apply when -HostName has none; Port 0 means unset', () => {
    expect(resolve({ HostName: 'server', UserName: 'bob', Port: 2200 })).toMatchObject({
      user: 'bob',
      port: 2200,
    });
    expect(resolve({ HostName: 'server', Port: 0 }).port).toBe(22);
  });

  it('DOMAIN\\user goes to ssh as user@DOMAIN; the prompt keeps what was typed', () => {
    const t = resolve({ HostName: 'server', UserName: 'CONTOSO\\alice' });
    expect(t.user).toBe('alice@CONTOSO');
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[CONTOSO\\alice@server]: ' });
  });

  it('the same user as the local one gives the plain [host] prompt', () => {
    expect(resolve({ HostName: 'me@server' }).prompt).toEqual({ kind: 'prefix', text: '[server]: ' });
  });

  it('. is localhost; IPv6 loses its brackets', () => {
    expect(resolve({ HostName: '.' }).hostName).toBe('localhost');
    expect(resolve({ HostName: '[::1]:2222' })).toMatchObject({ hostName: '::1', displayName: '[::1]:2222' });
  });

  it('-KeyFilePath comes first and must exist (KeyFileNotFound)', () => {
    const t = resolve({ HostName: 'server', KeyFilePath: keyFile }, 'Host *\n  IdentityFile ~/.ssh/other\n');
    expect(t.identityFiles).toEqual([
      { path: keyFile, explicit: true },
      { path: join(home, '.ssh/other'), explicit: false },
    ]);
    const e = errorOf(() => resolve({ HostName: 'server', KeyFilePath: join(home, 'missing') }));
    expect(e.errorId).toBe('KeyFileNotFound');
    expect(e.message).toContain('missing');
  });

  it('-Subsystem, -ConnectingTimeout', () => {
    expect(resolve({ HostName: 'h', Subsystem: 'pwsh7', ConnectingTimeout: 1500 })).toMatchObject({
      subsystem: 'pwsh7',
      connectingTimeoutMs: 1500,
    });
  });

  it('an invalid -HostName is PSSessionInvalidComputerName', () => {
    expect(errorOf(() => resolve({ HostName: 'a@b@c' })).errorId).toBe('PSSessionInvalidComputerName');
  });
});

describe('resolveSshTarget: ~/.ssh/config and -Options, as ssh merges them', () => {
  const config = [
    'Host box',
    '  HostName %h.example.com',
    '  User cfguser',
    '  Port 2201',
    '  IdentityFile %d/.ssh/box_key',
    '  ProxyJump jump@bastion:2222',
    'Host box other',
    '  User ignored-second-match',
    '  ServerAliveInterval 15',
    'Host *',
    '  StrictHostKeyChecking accept-new',
    '  UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2',
    '',
  ].join('\n');

  it('Host blocks apply in order, first value wins', () => {
    const t = resolve({ HostName: 'box' }, config);
    expect(t).toMatchObject({
      alias: 'box',
      hostName: 'box.example.com',
      user: 'cfguser',
      port: 2201,
      proxyJump: 'jump@bastion:2222',
      serverAliveIntervalMs: 15_000,
      strictHostKeyChecking: 'accept-new',
      userKnownHostsFiles: [join(home, '.ssh/kh1'), join(home, '.ssh/kh2')],
    });
    expect(t.identityFiles).toEqual([{ path: join(home, '.ssh/box_key'), explicit: false }]);
    // pwsh's prompt knows only what it was given, not what ssh_config added.
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[box]: ' });
  });

  it('explicit parameters and -Options beat the config; -Options keys are case-insensitive', () => {
    const t = resolve(
      {
        HostName: 'box',
        UserName: 'paramuser',
        Options: {
          port: '2300',
          stricthostkeychecking: 'off',
          IdentityFile: '~/.ssh/opt_key',
          ConnectTimeout: '5',
        },
      },
      config,
    );
    expect(t).toMatchObject({
      user: 'paramuser',
      port: 2300,
      strictHostKeyChecking: 'no',
      connectTimeoutMs: 5000,
    });
    expect(t.identityFiles.map((f) => f.path)).toEqual([
      join(home, '.ssh/opt_key'),
      join(home, '.ssh/box_key'),
    ]);
    expect(t.identityFiles[0]?.explicit).toBe(true);
  });

  it('-Port beats a Port option', () => {
    expect(resolve({ HostName: 'box', Port: 2400, Options: { Port: '2300' } }, config).port).toBe(2400);
  });

  it('the system ssh_config comes after the user one', () => {
    const t = resolve({ HostName: 'box' }, config, systemConfig);
    expect(t).toMatchObject({ user: 'cfguser', port: 2201, hashKnownHosts: true });
    expect(resolve({ HostName: 'plain' }, '', systemConfig)).toMatchObject({ user: 'sysuser', port: 2200 });
  });

  it('unsupported -Options keys are listed, harmless ones accepted silently', () => {
    const t = resolve({
      HostName: 'h',
      Options: { LogLevel: 'ERROR', Ciphers: 'aes128-ctr', SendEnv: 'LANG' },
    });
    expect(t.ignoredOptions).toEqual(['Ciphers']);
  });

  it.each([
    [{ Port: 'http' }, 'Port'],
    [{ Port: '70000' }, 'Port'],
    [{ StrictHostKeyChecking: 'maybe' }, 'StrictHostKeyChecking'],
    [{ BatchMode: 'sometimes' }, 'BatchMode'],
    [{ ConnectTimeout: '-1' }, 'ConnectTimeout'],
  ])('a bad option value %j is SshInvalidOption naming %s', (options, key) => {
    const e = errorOf(() => resolve({ HostName: 'h', Options: options }));
    expect(e.errorId).toBe('SshInvalidOption');
    expect(e.message).toContain(key);
  });

  it('IdentityFile none, UserKnownHostsFile none and ProxyJump none switch those off', () => {
    const t = resolve({
      HostName: 'h',
      Options: { IdentityFile: 'none', UserKnownHostsFile: 'none', ProxyJump: 'none' },
    });
    expect(t.identityFiles.every((f) => !f.explicit)).toBe(true);
    expect(t.userKnownHostsFiles).toEqual([]);
    expect(t.proxyJump).toBeUndefined();
  });

  it('a config the parser rejects is SshInvalidOption naming the file, not a crash', () => {
    const e = errorOf(() => resolve({ HostName: 'h' }, 'Host "unterminated\n  User x\n'));
    expect(e.errorId).toBe('SshInvalidOption');
    expect(e.message).toContain(join(home, '.ssh', 'config'));
  });
});
