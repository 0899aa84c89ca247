import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../errors/ps-remoting-error.ts';
import { satisfiesApiRange } from './api-range.ts';
import { TRANSPORT_API, type TransportPlugin } from './contract.ts';
import { selectTransport } from './registry.ts';

const plugin = (
  name: string,
  sets: TransportPlugin['parameterSets'],
  apiRange = '^2.0.0',
): TransportPlugin => ({
  name,
  apiRange,
  parameterSets: sets,
  resolveTarget: () => ({ computerName: name, prompt: { kind: 'prefix', text: `[${name}]: ` } }),
  connect: () => Promise.reject(new Error('not used')),
});

function errorOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isPSRemotingError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('satisfiesApiRange', () => {
  it.each([
    ['1.0.0', '^1.0.0', true],
    ['1.4.2', '^1.0.0', true],
    ['2.0.0', '^1.0.0', false],
    ['0.3.1', '^0.3.0', true],
    ['0.4.0', '^0.3.0', false],
    ['1.2.9', '~1.2.0', true],
    ['1.3.0', '~1.2.0', false],
    ['1.0.0', '>=1.0.0', true],
    ['0.9.9', '>=1.0.0', false],
    ['3.1.0', '^1 || ^3', true],
    ['1.0.0', '*', true],
    ['1.0.0', '1.0.0', true],
    ['1.0.1', '1.0.0', false],
    ['garbage', '^1.0.0', false],
  ])('%s in %s is %s', (v, r, ok) => {
    expect(satisfiesApiRange(v, r)).toBe(ok);
  });
  it('accepts the kernel version itself', () => {
    expect(satisfiesApiRange(TRANSPORT_API, '^2.0.0')).toBe(true);
  });
});

describe('selectTransport', () => {
  it('picks the first compatible plugin serving the set', () => {
    const chosen = selectTransport(
      [plugin('a', ['ContainerId']), plugin('b', ['SSHHost']), plugin('c', ['SSHHost'])],
      'SSHHost',
    );
    expect(chosen.name).toBe('b');
  });
  it('skips a plugin written for another API version', () => {
    const chosen = selectTransport(
      [plugin('old', ['SSHHost'], '^0.1.0'), plugin('new', ['SSHHost'])],
      'SSHHost',
    );
    expect(chosen.name).toBe('new');
  });
  it('names the package to install when no plugin serves the set', () => {
    const e = errorOf(() => selectTransport([plugin('a', ['SSHHost'])], 'ComputerName'));
    expect(e.errorId).toBe('TransportNotRegistered');
    expect(e.category).toBe('NotInstalled');
    expect(e.message).toContain('npm install @psremote/transport-winrm');
    expect(e.fullyQualifiedErrorId).toBe(
      'TransportNotRegistered,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
  });
  it('names the install command the program gives (a global CLI: npm install -g)', () => {
    const e = errorOf(() => selectTransport([], 'SSHHost', { installCommand: (p) => `npm install -g ${p}` }));
    expect(e.errorId).toBe('TransportNotRegistered');
    expect(e.message).toContain('Install it with: npm install -g @psremote/transport-ssh');
    expect(e.recommendedAction).toBe('npm install -g @psremote/transport-ssh');
  });
  it('a transport written for contract 1.x (one fragment a send, no open step) is refused by this kernel', () => {
    expect(TRANSPORT_API).toBe('2.0.0');
    const e = errorOf(() => selectTransport([plugin('v1', ['SSHHost'], '^1.0.0')], 'SSHHost'));
    expect(e.errorId).toBe('TransportApiMismatch');
    expect(e.message).toContain('provides 2.0.0');
  });
  it('says what is wrong when only an incompatible plugin serves the set', () => {
    const e = errorOf(() => selectTransport([plugin('old', ['VMName'], '^9.0.0')], 'VMName'));
    expect(e.errorId).toBe('TransportApiMismatch');
    expect(e.message).toContain('^9.0.0');
  });
  it('explains the sets that enter an existing PSSession', () => {
    const e = errorOf(() => selectTransport([], 'Id'));
    expect(e.errorId).toBe('TransportNotRegistered');
  });

  it('a placeholder package that is installed is named as not implemented yet, not as missing', () => {
    const e = errorOf(() =>
      selectTransport([], 'ComputerName', { placeholders: new Set(['@psremote/transport-winrm']) }),
    );
    expect(e.errorId).toBe('TransportNotImplemented');
    expect(e.category).toBe('NotImplemented');
    expect(e.message).toContain(
      '@psremote/transport-winrm, which is installed but does not implement it yet',
    );
    expect(
      errorOf(() => selectTransport([], 'VMName', { placeholders: new Set(['@psremote/transport-winrm']) }))
        .errorId,
    ).toBe('TransportNotRegistered');
  });

  it('the Id set: entering an earlier PSSession is explained', () => {
    const e = errorOf(() => selectTransport([], 'Id'));
    expect(e.message).toContain('New-PSSession');
  });
});
