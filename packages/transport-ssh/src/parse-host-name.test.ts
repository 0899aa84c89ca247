import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { parseSshHostName, sshUserName } from './parse-host-name.ts';

// Each row was checked with `[uri]::new('ssh://' + $c)` in pwsh 7.6.9 (Host, UserInfo, Port; or a
// UriFormatException), then RemotingUtils.ParseSshHostName's `.` -> localhost and bracket stripping for ssh.
const valid: [string, { host: string; userName?: string; port?: number }][] = [
  ['host', { host: 'host' }],
  ['user@host', { host: 'host', userName: 'user' }],
  ['host:2222', { host: 'host', port: 2222 }],
  ['user@host:2222', { host: 'host', userName: 'user', port: 2222 }],
  ['[::1]', { host: '::1' }],
  ['[::1]:2222', { host: '::1', port: 2222 }],
  ['user@[::1]:22', { host: '::1', userName: 'user', port: 22 }],
  ['[fe80::1%eth0]', { host: 'fe80::1' }],
  ['MyHost.Example.COM', { host: 'MyHost.Example.COM' }],
  ['.', { host: 'localhost' }],
  ['user:pass@host', { host: 'host', userName: 'user:pass' }],
  ['host/path', { host: 'host' }],
  ['@host', { host: 'host' }],
  ['host:', { host: 'host' }],
  ['10.0.0.1:22', { host: '10.0.0.1', port: 22 }],
  ['Ünïcode.example', { host: 'Ünïcode.example' }],
  ['user%40x@host', { host: 'host', userName: 'user%40x' }],
  ['host:0', { host: 'host', port: 0 }],
  ['host:65535', { host: 'host', port: 65535 }],
  ['host_with_underscore', { host: 'host_with_underscore' }],
];
const invalid = [
  'DOMAIN\\user@host',
  'DOMAIN\\user@host:23',
  'user@.',
  '::1',
  'host:abc',
  'host:99999',
  'a@b@host',
  'host name',
  '',
  'user@',
  '[::1',
  '[nothex]',
];

describe('parseSshHostName, as pwsh parses -HostName', () => {
  it.each(valid)('%s', (input, want) => {
    expect(parseSshHostName(input)).toEqual(want);
  });

  it.each(invalid)('%j is PSSessionInvalidComputerName', (input) => {
    let err: unknown;
    try {
      parseSshHostName(input);
    } catch (e) {
      err = e;
    }
    expect(isPSRemotingError(err)).toBe(true);
    expect(isPSRemotingError(err) && err.errorId).toBe('PSSessionInvalidComputerName');
    expect(isPSRemotingError(err) && err.category).toBe('InvalidArgument');
  });
});

describe('sshUserName: the -l value pwsh passes', () => {
  it.each([
    ['CONTOSO\\alice', 'alice@CONTOSO'],
    ['alice', 'alice'],
    ['alice@contoso.com', 'alice@contoso.com'],
    ['\\alice', '\\alice'],
    ['CONTOSO\\', 'CONTOSO\\'],
  ])('%s -> %s', (input, want) => {
    expect(sshUserName(input)).toBe(want);
  });
});
