import { describe, expect, it } from 'vitest';
import { LOOKUP_SCRIPT, lookupCommand, lookupVm, parseLookup, QUERY_ENV } from './vm-lookup.ts';

/** An answer as the lookup script prints it: base64 of the UTF-8 JSON. */
const answer = (o: unknown): string => `${Buffer.from(JSON.stringify(o), 'utf8').toString('base64')}\r\n`;
const vm = (name: string, state: string, type = 'Microsoft.HyperV.PowerShell.VMState', isEnum = true) => ({
  VMId: 'A1B2C3D4-0000-4000-8000-000000000001',
  VMName: name,
  State: state,
  StateType: type,
  StateIsEnum: isEnum,
});
const byName = (vmName: string) => ({ by: 'Name', vmName }) as const;

describe('VM lookup: the command', () => {
  it('runs Windows PowerShell with a fixed encoded script; the query goes in the environment only', () => {
    const evil = "x'; Remove-Item C:\\ -Recurse; '$(whoami)";
    const c = lookupCommand(byName(evil), { SystemRoot: 'D:\\Win' });
    expect(c.file).toBe('D:\\Win\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(c.args.slice(0, 6)).toEqual([
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    expect(Buffer.from(c.args[6] as string, 'base64').toString('utf16le')).toBe(LOOKUP_SCRIPT);
    expect(c.args.join(' ')).not.toContain('whoami');
    expect(c.env[QUERY_ENV.value]).toBe(evil);
    expect(c.env[QUERY_ENV.by]).toBe('Name');
    expect(LOOKUP_SCRIPT).toContain('Hyper-V\\Get-VM -Name $value');
    expect(LOOKUP_SCRIPT).toContain('Hyper-V\\Get-VM -Id ([guid]$value)');
  });

  it('any host but Windows: HyperVModuleNotAvailable, nothing run', async () => {
    let ran = false;
    const err = await lookupVm(byName('vm1'), {
      env: {},
      signal: new AbortController().signal,
      platform: 'linux',
      run: async () => {
        ran = true;
        return '';
      },
    }).catch((e) => e);
    expect(err).toMatchObject({
      errorId: 'HyperVModuleNotAvailable',
      category: 'NotInstalled',
      message: 'The Hyper-V Module for PowerShell is not available on this machine.',
    });
    expect(ran).toBe(false);
  });
});

describe('VM lookup: the answer', () => {
  it('one running VM: its id (lower case) and name; a one-element array written as the element also counts', () => {
    expect(parseLookup(answer({ vms: [vm('vm1', 'Running')] }), byName('vm1'))).toEqual({
      vmId: 'a1b2c3d4-0000-4000-8000-000000000001',
      vmName: 'vm1',
    });
    expect(parseLookup(answer({ vms: vm('Wébserveur', 'Running') }), byName('w*'))).toMatchObject({
      vmName: 'Wébserveur',
    });
  });

  it('by name: none is InvalidVMNameNoVM, several is InvalidVMNameMultipleVM; by id anything but one is InvalidVMId', () => {
    expect(() => parseLookup(answer({ vms: [] }), byName('x'))).toThrow(
      expect.objectContaining({ errorId: 'InvalidVMNameNoVM' }),
    );
    expect(() => parseLookup(answer({}), byName('x'))).toThrow(
      expect.objectContaining({ errorId: 'InvalidVMNameNoVM' }),
    );
    expect(() => parseLookup(answer({ vms: [vm('a', 'Running'), vm('a', 'Running')] }), byName('a'))).toThrow(
      expect.objectContaining({ errorId: 'InvalidVMNameMultipleVM', category: 'InvalidArgument' }),
    );
    const id = { by: 'Id', vmId: 'a1b2c3d4-0000-4000-8000-000000000001' } as const;
    expect(() => parseLookup(answer({ vms: [] }), id)).toThrow(
      expect.objectContaining({ errorId: 'InvalidVMId' }),
    );
    expect(() => parseLookup(answer({ vms: [vm('a', 'Running'), vm('b', 'Running')] }), id)).toThrow(
      expect.objectContaining({ errorId: 'InvalidVMId' }),
    );
  });

  it.each(['Off', 'Saved', 'Paused', 'Starting', 'Stopping', 'RunningCritical', '3'])(
    'state %s is InvalidVMState, with the VM name in the message',
    (state) => {
      expect(() => parseLookup(answer({ vms: [vm('vm9', state)] }), byName('vm9'))).toThrow(
        expect.objectContaining({
          errorId: 'InvalidVMState',
          message: 'The virtual machine vm9 is not in running state.',
        }),
      );
    },
  );

  it('a State string (implicit remoting) is an enum label in any case, or a number; other types fail as PowerShell does', () => {
    expect(
      parseLookup(answer({ vms: [vm('s', 'running', 'System.String', false)] }), byName('s')).vmName,
    ).toBe('s');
    expect(parseLookup(answer({ vms: [vm('s', '2', 'System.String', false)] }), byName('s')).vmName).toBe(
      's',
    );
    expect(() =>
      parseLookup(answer({ vms: [vm('s', 'Sleeping', 'System.String', false)] }), byName('s')),
    ).toThrow(expect.objectContaining({ errorId: 'HyperVFailedToGetStateUnknownType' }));
    expect(() => parseLookup(answer({ vms: [vm('i', '2', 'System.Int32', false)] }), byName('i'))).toThrow(
      expect.objectContaining({
        errorId: 'HyperVFailedToGetStateUnknownType',
        message:
          'Failed to get Hyper-V VM State. The value was of the type System.Int32 but was expected to be Microsoft.HyperV.PowerShell.VMState or System.String.',
      }),
    );
  });

  it('the module missing, or an unreadable answer', () => {
    expect(() => parseLookup(answer({ error: 'HyperVModuleNotAvailable' }), byName('x'))).toThrow(
      expect.objectContaining({ errorId: 'HyperVModuleNotAvailable' }),
    );
    expect(() => parseLookup('WARNING: something\r\n%%%', byName('x'))).toThrow(
      expect.objectContaining({ errorId: 'CreateRemoteRunspaceForVMFailed' }),
    );
  });
});
