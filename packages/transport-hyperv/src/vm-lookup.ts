import { spawn } from 'node:child_process';
import { PSRemotingError } from '@psremote/core';
import { hyperVErrors } from './errors.ts';

/**
 * Finding the VM as Enter-PSSession does (PushRunspaceCommand.cs GetRunspaceForVMSession): `Get-VM -Id` or
 * `Get-VM -Name`, exactly one VM, in the Running state. Node cannot call the Hyper-V module, so psremote runs
 * Windows PowerShell (`powershell.exe`, where the module lives) once, with a fixed script: the id or name travels
 * in an environment variable, never inside the script text, so no input can change what runs. The answer comes
 * back as base64 of UTF-8 JSON, so VM names survive the console code page.
 */

/** What the user asked for: -VMId or -VMName. */
export type VmQuery =
  | { readonly by: 'Id'; readonly vmId: string }
  | { readonly by: 'Name'; readonly vmName: string };

/** The one VM found, running. */
export interface VmInfo {
  readonly vmId: string;
  readonly vmName: string;
}

/** One VM of the JSON answer. */
interface FoundVm {
  readonly VMId?: unknown;
  readonly VMName?: unknown;
  /** The State property as text (`Running`, or a number for a value the enum does not name). */
  readonly State?: unknown;
  /** The .NET type of the State property: the module's VMState enum, System.String through implicit remoting. */
  readonly StateType?: unknown;
  readonly StateIsEnum?: unknown;
}

/** The environment variables that carry the query into the script. */
export const QUERY_ENV = { by: 'PSREMOTE_HYPERV_BY', value: 'PSREMOTE_HYPERV_VM' } as const;

/**
 * The lookup script; it never changes with the input. `Hyper-V\Get-VM` is module-qualified so VMware PowerCLI's
 * own `Get-VM` cannot answer instead (PowerShell calls it unqualified; Vagrant and Packer qualify it).
 * `-ErrorAction SilentlyContinue` keeps "not found" a count of 0, as PowerShell's InvokeScript sees it.
 */
export const LOOKUP_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  '$by = $env:PSREMOTE_HYPERV_BY; $value = $env:PSREMOTE_HYPERV_VM',
  "if (-not (Get-Command -Name 'Hyper-V\\Get-VM' -ErrorAction SilentlyContinue)) { $out = @{ error = 'HyperVModuleNotAvailable' } }",
  'else {',
  "  $vms = if ($by -eq 'Id') { @(Hyper-V\\Get-VM -Id ([guid]$value) -ErrorAction SilentlyContinue) } else { @(Hyper-V\\Get-VM -Name $value -ErrorAction SilentlyContinue) }",
  '  $out = @{ vms = @($vms | ForEach-Object { @{ VMId = [string]$_.VMId; VMName = [string]$_.VMName; State = [string]$_.State; StateIsEnum = ($_.State -is [enum]); StateType = $(if ($null -eq $_.State) { $null } else { $_.State.GetType().FullName }) } }) }',
  '}',
  '[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -Compress -Depth 4 -InputObject $out)))',
].join('\n');

/** The process to run: Windows PowerShell with the script encoded, and the query in the environment. */
export function lookupCommand(
  q: VmQuery,
  env: Readonly<Record<string, string | undefined>>,
): { file: string; args: string[]; env: Record<string, string | undefined> } {
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows';
  return {
    file: `${root}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`,
    args: [
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
      Buffer.from(LOOKUP_SCRIPT, 'utf16le').toString('base64'),
    ],
    env: { ...env, [QUERY_ENV.by]: q.by, [QUERY_ENV.value]: q.by === 'Id' ? q.vmId : q.vmName },
  };
}

/** VMState (PSRemotingCmdlet.cs, the Hyper-V module's enum): label to value. */
const VM_STATES: Record<string, number> = {
  other: 1,
  running: 2,
  off: 3,
  stopping: 4,
  saved: 6,
  paused: 9,
  starting: 10,
  reset: 11,
  saving: 32773,
  pausing: 32776,
  resuming: 32777,
  fastsaved: 32779,
  fastsaving: 32780,
  forceshutdown: 32781,
  forcereboot: 32782,
  hibernated: 32783,
  componentservicing: 32784,
  runningcritical: 32785,
  offcritical: 32786,
  stoppingcritical: 32787,
  savedcritical: 32788,
  pausedcritical: 32789,
  startingcritical: 32790,
  resetcritical: 32791,
  savingcritical: 32792,
  pausingcritical: 32793,
  resumingcritical: 32794,
  fastsavedcritical: 32795,
  fastsavingcritical: 32796,
};

/**
 * The state as PowerShell's GetVMStateProperty reads it: an enum as its value, a string as an enum label (any
 * case) or number (Enum.TryParse); any other type is HyperVFailedToGetStateUnknownType. Undefined: a string that
 * names no state (PowerShell then also fails, with the same error).
 */
export function vmState(vm: FoundVm, vmName: string): number | undefined {
  const text = typeof vm.State === 'string' ? vm.State.trim() : undefined;
  if (vm.StateIsEnum !== true && vm.StateType !== 'System.String')
    throw hyperVErrors.unknownState(vmName, typeof vm.StateType === 'string' ? vm.StateType : 'null');
  if (text === undefined) throw hyperVErrors.unknownState(vmName, 'null');
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  const v = VM_STATES[text.toLowerCase()];
  if (v === undefined && vm.StateType === 'System.String')
    throw hyperVErrors.unknownState(vmName, 'System.String');
  return v;
}

/** Reads the script's answer and applies Enter-PSSession's rules: 0 / 1 / many, then Running. */
export function parseLookup(stdout: string, q: VmQuery): VmInfo {
  const given = q.by === 'Id' ? q.vmId : q.vmName;
  const line = stdout.trim().split(/\r?\n/).pop() ?? '';
  let answer: { error?: unknown; vms?: unknown };
  try {
    answer = JSON.parse(Buffer.from(line, 'base64').toString('utf8')) as typeof answer;
  } catch (e) {
    throw new PSRemotingError(
      `The Hyper-V virtual machine lookup gave an answer psremote cannot read: ${JSON.stringify(line.slice(0, 200))}.`,
      {
        errorId: 'CreateRemoteRunspaceForVMFailed',
        category: 'InvalidOperation',
        targetObject: given,
        cause: e,
      },
    );
  }
  if (answer.error === 'HyperVModuleNotAvailable') throw hyperVErrors.moduleNotAvailable();
  // ConvertTo-Json of Windows PowerShell 5.1 writes a one-element array as the element itself.
  const vms = (Array.isArray(answer.vms) ? answer.vms : answer.vms ? [answer.vms] : []) as FoundVm[];
  if (q.by === 'Id' && vms.length !== 1) throw hyperVErrors.invalidVMId(q.vmId);
  if (q.by === 'Name' && vms.length === 0) throw hyperVErrors.noVM(q.vmName);
  if (q.by === 'Name' && vms.length > 1) throw hyperVErrors.multipleVM(q.vmName);
  const vm = vms[0] as FoundVm;
  const vmName = typeof vm.VMName === 'string' ? vm.VMName : given;
  const vmId = typeof vm.VMId === 'string' ? vm.VMId.toLowerCase() : '';
  if (vmState(vm, vmName) !== VM_STATES.running) throw hyperVErrors.notRunning(vmName);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(vmId))
    throw hyperVErrors.invalidVMId(vmId);
  return { vmId, vmName };
}

export interface LookupOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Default: process.platform. Only win32 has the Hyper-V module. */
  readonly platform?: NodeJS.Platform;
  /** Runs the command and gives its stdout (tests replace it). */
  readonly run?: (cmd: ReturnType<typeof lookupCommand>, signal: AbortSignal) => Promise<string>;
}

/** Finds the VM; HyperVModuleNotAvailable on any host but Windows, as PowerShell on Linux says it. */
export async function lookupVm(q: VmQuery, o: LookupOptions): Promise<VmInfo> {
  if ((o.platform ?? process.platform) !== 'win32')
    throw hyperVErrors.moduleNotAvailable(
      'PowerShell Direct (-VMId, -VMName) needs a Windows host running Hyper-V, with the Hyper-V module for Windows PowerShell.',
    );
  const cmd = lookupCommand(q, o.env);
  const stdout = await (o.run ?? runPowerShell)(cmd, o.signal);
  return parseLookup(stdout, q);
}

async function runPowerShell(cmd: ReturnType<typeof lookupCommand>, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, {
      env: cmd.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      signal,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString('latin1');
    });
    child.once('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        reject(hyperVErrors.moduleNotAvailable(`Windows PowerShell was not found at ${cmd.file}.`));
      else reject(e);
    });
    child.once('close', (code) => {
      if (code === 0 || out.trim()) resolve(out);
      else
        reject(
          new PSRemotingError(
            `The Hyper-V virtual machine lookup failed (exit code ${code}): ${err.trim()}`,
            {
              errorId: 'CreateRemoteRunspaceForVMFailed',
              category: 'InvalidOperation',
            },
          ),
        );
    });
  });
}
