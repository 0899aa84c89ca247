import { fileURLToPath } from 'node:url';
import { findPwsh } from '@psremote/transport-process';

// What the end-to-end tests against the local pwsh share: the built CLI, a PATH with the .NET tools, the check.

/** The built CLI. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** PATH with `~/.dotnet/tools`, where the PowerShell global tool lands. */
export const PWSH_PATH = `${process.env.PATH}:${process.env.HOME}/.dotnet/tools`;

/**
 * True when a pwsh can be found with `env` added to this process's environment. With PSREMOTE_REQUIRE_PEERS=1 a
 * missing pwsh is a failure, not a skip.
 */
export function havePwsh(env: Record<string, string | undefined> = { PATH: PWSH_PATH }): boolean {
  try {
    findPwsh({ ...process.env, ...env });
    return true;
  } catch (e) {
    if (process.env.PSREMOTE_REQUIRE_PEERS === '1') throw e;
    console.warn(`[cli] real pwsh unavailable, end-to-end tests skip: ${(e as Error).message}`);
    return false;
  }
}

/** The local session's prompt at the end of a line. */
export const LOCAL_PROMPT = /\[localhost\]: PS \/\S*> $/m;
