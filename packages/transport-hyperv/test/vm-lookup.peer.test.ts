import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPwsh } from '@psremote/transport-process';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupCommand, lookupVm, type VmQuery } from '../src/vm-lookup.ts';

// The lookup script itself, run by a real PowerShell: pwsh stands in for powershell.exe, and a stand-in Hyper-V
// module (test/fake-hyperv) for the real one, whose Get-VM returns VMState enums. What only Windows can show: the
// real module's output and permissions (see the README).

function pwshPath(): string | undefined {
  try {
    return findPwsh(process.env);
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1') throw e;
    return undefined;
  }
}
const pwsh = pwshPath();
const FAKE = fileURLToPath(new URL('./fake-hyperv', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'psremote-hyperv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const canary = join(scratch, 'pwned');

const VMS = [
  { VMId: '11111111-2222-3333-4444-555555555555', VMName: 'vm1', State: 'Running' },
  { VMId: '21111111-2222-3333-4444-555555555555', VMName: 'dup', State: 'Running' },
  { VMId: '31111111-2222-3333-4444-555555555555', VMName: 'dup', State: 'Running' },
  { VMId: '41111111-2222-3333-4444-555555555555', VMName: 'stopped', State: 'Off' },
  { VMId: '51111111-2222-3333-4444-555555555555', VMName: 'implicit', State: 'running', StateKind: 'string' },
  { VMId: '61111111-2222-3333-4444-555555555555', VMName: 'oddtype', State: 2, StateKind: 'int' },
  {
    VMId: '71111111-2222-3333-4444-555555555555',
    VMName: `Wébserveur ü'$(Set-Content ${canary} x)"`,
    State: 'Running',
  },
];

/** lookupVm with pwsh in place of powershell.exe, the stand-in module first on PSModulePath. */
function find(q: VmQuery, modulePath = FAKE) {
  return lookupVm(q, {
    env: {
      ...process.env,
      PSModulePath: `${modulePath}${delimiter}${process.env.PSModulePath ?? ''}`,
      PSREMOTE_FAKE_VMS: JSON.stringify(VMS),
    },
    signal: AbortSignal.timeout(30_000),
    platform: 'win32',
    run: (cmd) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(pwsh as string, cmd.args, { env: cmd.env as NodeJS.ProcessEnv });
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString('latin1');
        });
        child.once('error', reject);
        child.once('close', () => resolve(out));
      }),
  });
}

describe.skipIf(!pwsh)('the VM lookup script, run by PowerShell against a stand-in Hyper-V module', () => {
  it('finds one running VM by name (quotes, $(...) and non-ASCII letters stay data) and by id', async () => {
    const name = VMS[6]?.VMName as string;
    const [byName, byId] = await Promise.all([
      find({ by: 'Name', vmName: name }),
      find({ by: 'Id', vmId: '11111111-2222-3333-4444-555555555555' }),
    ]);
    expect(byName).toEqual({ vmId: '71111111-2222-3333-4444-555555555555', vmName: name });
    expect(byId).toEqual({ vmId: '11111111-2222-3333-4444-555555555555', vmName: 'vm1' });
    expect(existsSync(canary)).toBe(false);
    // The script text does not change with the input.
    expect(lookupCommand({ by: 'Name', vmName: name }, {}).args).toEqual(
      lookupCommand({ by: 'Name', vmName: 'vm1' }, {}).args,
    );
  });

  it('none, many, not running (a real VMState enum): PowerShell error ids', async () => {
    const [none, many, off] = await Promise.all(
      ['nosuch', 'dup', 'stopped'].map((vmName) => find({ by: 'Name', vmName }).catch((e) => e)),
    );
    expect(none).toMatchObject({ errorId: 'InvalidVMNameNoVM' });
    expect(many).toMatchObject({ errorId: 'InvalidVMNameMultipleVM' });
    expect(off).toMatchObject({
      errorId: 'InvalidVMState',
      message: 'The virtual machine stopped is not in running state.',
    });
  });

  it('without the Hyper-V module: HyperVModuleNotAvailable', async () => {
    await expect(find({ by: 'Name', vmName: 'vm1' }, scratch)).rejects.toMatchObject({
      errorId: 'HyperVModuleNotAvailable',
      category: 'NotInstalled',
      message: 'The Hyper-V Module for PowerShell is not available on this machine.',
    });
  });
});
