import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PSRemotingError } from '@psremote/core';

// Only the executable: Node (since 20.12) refuses to spawn a .cmd/.bat without a shell, and every PowerShell 7
// install on Windows (MSI, winget, store, `dotnet tool`) puts a pwsh.exe on the path.
const EXE = process.platform === 'win32' ? ['pwsh.exe'] : ['pwsh'];

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds PowerShell 7: an explicit path first, then `PSREMOTE_PWSH`, then PATH, then the .NET global tool
 * folder (~/.dotnet/tools, where `dotnet tool install --global PowerShell` puts it).
 */
export function findPwsh(env: Readonly<Record<string, string | undefined>>, explicit?: string): string {
  const tried: string[] = [];
  const candidates: string[] = [];
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new PSRemotingError(`The PowerShell executable '${explicit}' was not found or is not executable.`, {
      errorId: 'PowerShellNotFound',
      category: 'ObjectNotFound',
      targetObject: explicit,
      recommendedAction:
        'Give the full path of pwsh, or install it: dotnet tool install --global PowerShell --version 7.6.9',
    });
  }
  if (env.PSREMOTE_PWSH) candidates.push(env.PSREMOTE_PWSH);
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (dir) for (const exe of EXE) candidates.push(join(dir, exe));
  }
  const home = env.HOME ?? env.USERPROFILE;
  if (home) for (const exe of EXE) candidates.push(join(home, '.dotnet', 'tools', exe));
  for (const c of candidates) {
    tried.push(c);
    if (isExecutable(c)) return c;
  }
  throw new PSRemotingError(
    'PowerShell 7 (pwsh) was not found on PATH or in ~/.dotnet/tools. Install it with: dotnet tool install --global PowerShell --version 7.6.9 (or your platform package), or set PSREMOTE_PWSH to its path.',
    {
      errorId: 'PowerShellNotFound',
      category: 'NotInstalled',
      targetObject: 'pwsh',
      recommendedAction: 'dotnet tool install --global PowerShell --version 7.6.9',
    },
  );
}
