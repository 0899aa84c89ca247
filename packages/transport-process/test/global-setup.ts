import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { findPwsh } from '../src/find-pwsh.ts';

/**
 * The real peer of this package is PowerShell 7 itself. `scripts/setup.sh` installs it (dotnet global tool);
 * here we only find it and check that it starts. With PSREMOTE_REQUIRE_PEERS=1 a missing pwsh fails the run.
 */
export default function setup(project: TestProject): void {
  const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
  let pwsh: string | undefined;
  let why = '';
  try {
    pwsh = findPwsh(env);
    const v = execFileSync(
      pwsh,
      ['-NoProfile', '-NonInteractive', '-c', '$PSVersionTable.PSVersion.ToString()'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    ).trim();
    if (!/^7\./.test(v)) why = `pwsh at ${pwsh} is version ${v}, not 7.x`;
  } catch (e) {
    why = (e as Error).message;
    pwsh = undefined;
  }
  if (why) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1') {
      throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the real PowerShell peer is unavailable: ${why}`);
    }
    console.warn(`[transport-process] real pwsh unavailable, its tests skip: ${why}`);
  }
  project.provide('pwshPath', why ? '' : (pwsh ?? ''));
}

declare module 'vitest' {
  export interface ProvidedContext {
    pwshPath: string;
  }
}
