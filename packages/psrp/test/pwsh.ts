import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Real pwsh for live tests: PSREMOTE_PWSH, PATH or ~/.dotnet/tools. Undefined (with a reason) when absent. */
export function findTestPwsh(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), join(process.env.HOME ?? '', '.dotnet', 'tools')];
  const cands = [process.env.PSREMOTE_PWSH, ...dirs.map((d) => join(d, 'pwsh'))].filter(Boolean) as string[];
  for (const c of cands) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error('PSREMOTE_REQUIRE_PEERS=1 but pwsh was not found');
  console.warn('[psrp] real pwsh not found: live tests skip');
  return undefined;
}
