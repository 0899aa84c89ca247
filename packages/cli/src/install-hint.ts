import { existsSync, realpathSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How this psremote was installed, for the command that adds a transport package beside it. */
export type InstallKind = 'global' | 'local' | 'pnpm-global' | 'pnpm-local' | 'npx';

/** What the guess reads: paths and the environment, so it can be tested without installing anything. */
export interface InstallFacts {
  /** The real path (symlinks resolved) of the @psremote/cli package directory. */
  readonly packageDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** process.execPath: npm's default global prefix is derived from it. */
  readonly execPath: string;
  readonly exists: (path: string) => boolean;
}

type PathApi = typeof posix;

/** The outermost `node_modules` directory on the path, or undefined (a checkout of the repository). */
function outerNodeModules(dir: string, { parse, sep, join }: PathApi): string | undefined {
  const { root } = parse(dir);
  const parts = dir.slice(root.length).split(sep);
  const i = parts.indexOf('node_modules');
  return i < 0 ? undefined : join(root, ...parts.slice(0, i + 1));
}

/** npm's global `node_modules` for a prefix: `<prefix>/lib/node_modules`, on Windows `<prefix>\node_modules`. */
function globalModules(prefix: string, platform: NodeJS.Platform, { join }: PathApi): string {
  return platform === 'win32' ? join(prefix, 'node_modules') : join(prefix, 'lib', 'node_modules');
}

/**
 * Guesses how psremote was installed from where its package lies, without running npm (which would cost a
 * second or so on every start): npm's global folder is `<prefix>/lib/node_modules` (Windows:
 * `<prefix>\node_modules`) for the prefix npm was configured with (`npm_config_prefix`), npm's default
 * prefix (the parent of node's bin folder; `%APPDATA%\npm` on Windows), or any prefix whose `bin/psremote`
 * npm linked beside it (`npm config set prefix ~/.npm-global`). pnpm keeps its global packages under a
 * `global/<n>/node_modules` of its home, npx under `_npx/<hash>/node_modules`. Anything else in a
 * node_modules is a project's local install.
 */
export function guessInstallKind(facts: InstallFacts): InstallKind {
  const { platform, env } = facts;
  // The platform's own path rules (separators, drive letters), whatever machine runs the guess.
  const path = platform === 'win32' ? win32 : posix;
  const { basename, dirname, join, resolve, sep } = path;
  const modules = outerNodeModules(resolve(facts.packageDir), path);
  if (modules === undefined) return 'local';
  const project = dirname(modules);
  if (basename(dirname(project)) === '_npx') return 'npx';
  const pnpm = facts.packageDir.split(sep).includes('.pnpm');
  if (pnpm) {
    const home = env.PNPM_HOME ? resolve(env.PNPM_HOME) : undefined;
    const globalDir =
      basename(dirname(project)) === 'global' &&
      (/pnpm/i.test(dirname(dirname(project))) || (home !== undefined && dirname(dirname(project)) === home));
    return globalDir ? 'pnpm-global' : 'pnpm-local';
  }
  const prefixes = [env.npm_config_prefix, env.NPM_CONFIG_PREFIX].filter((p): p is string => Boolean(p));
  if (platform === 'win32') {
    if (env.APPDATA) prefixes.push(join(env.APPDATA, 'npm'));
    prefixes.push(dirname(facts.execPath));
  } else prefixes.push(dirname(dirname(facts.execPath)));
  const same = (a: string, b: string) =>
    platform === 'win32' ? resolve(a).toLowerCase() === resolve(b).toLowerCase() : resolve(a) === resolve(b);
  if (prefixes.some((p) => same(globalModules(p, platform, path), modules))) return 'global';
  // A prefix of its own: npm links `<prefix>/bin/psremote` (Windows: `<prefix>\psremote.cmd`) beside it.
  if (
    platform !== 'win32' &&
    basename(project) === 'lib' &&
    facts.exists(join(dirname(project), 'bin', 'psremote'))
  )
    return 'global';
  if (platform === 'win32' && facts.exists(join(project, 'psremote.cmd'))) return 'global';
  return 'local';
}

/** The command that installs `pkg` where a psremote installed this way finds it. */
export function installCommand(pkg: string, kind: InstallKind): string {
  switch (kind) {
    case 'global':
      return `npm install -g ${pkg}`;
    case 'pnpm-global':
      return `pnpm add -g ${pkg}`;
    case 'pnpm-local':
      return `pnpm add ${pkg}`;
    case 'npx':
      return `npx -p @psremote/cli -p ${pkg} psremote <arguments>`;
    case 'local':
      return `npm install ${pkg}`;
  }
}

/** This psremote's own install kind (its package directory is two levels above this file: dist/ or src/). */
export function thisInstallKind(env: Readonly<Record<string, string | undefined>>): InstallKind {
  let packageDir = fileURLToPath(new URL('..', import.meta.url));
  try {
    packageDir = realpathSync(packageDir);
  } catch {
    // the path as it is
  }
  return guessInstallKind({
    packageDir,
    env,
    platform: process.platform,
    execPath: process.execPath,
    exists: existsSync,
  });
}
