import { delimiter as hostDelimiter } from 'node:path';

/**
 * The environment of the local `pwsh -s` child.
 *
 * PowerShell's own PowerShellProcessInstance (Start-Job, a local out-of-process runspace) sets no
 * environment on its ProcessStartInfo: the child pwsh inherits its parent's whole environment. The parent
 * there is the user's pwsh, whose environment is the user's shell's. psremote's environment is the user's
 * shell's plus what belongs to psremote itself and to whatever started it, so the child gets the environment
 * minus those:
 *
 * - psremote's own settings: `PSREMOTE_*` (PSREMOTE_PWSH, PSREMOTE_TRANSPORTS, PSREMOTE_DEBUG, ...);
 * - Node's settings for the psremote process: `NODE_OPTIONS` (flags and `--require`/`--import` hooks meant for
 *   psremote's Node: a debugger's auto-attach, a test runner's loader), and Node's IPC and cluster variables
 *   (`NODE_CHANNEL_FD`, `NODE_CHANNEL_SERIALIZATION_MODE`, `NODE_UNIQUE_ID`), which name psremote's own file
 *   descriptors;
 * - when a package manager started psremote (`npx`, `npm exec`, `pnpm exec`, `yarn`, a package.json script;
 *   they all set `npm_config_user_agent`): the variables it added (`npm_*`, `pnpm_config_*`,
 *   `PNPM_PACKAGE_NAME`, `PNPM_SCRIPT_SRC_DIR`, `INIT_CWD`, `NODE`, `COLOR`, yarn's `BERRY_BIN_FOLDER` and
 *   `PROJECT_CWD`) and the folders it put in front of PATH (`node_modules/.bin`, npm's `node-gyp-bin`, yarn's
 *   bin folder). They write `npm_*` in lower case; the `NPM_CONFIG_*` a user exports stay.
 *
 * Everything else (PATH, HOME, locale, proxies, SSH_AUTH_SOCK, DOTNET_*, PSModulePath, NODE_EXTRA_CA_CERTS...)
 * passes as PowerShell would pass it. Other names are compared case-insensitively, as Windows does.
 */
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  delimiter: string = hostDelimiter,
): Record<string, string> {
  const launched = Object.keys(env).some((k) => LAUNCHER_MARKERS.has(k));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith('psremote_') || NODE_OWN.has(lower)) continue;
    if (launched && (name.startsWith('npm_') || name.startsWith('pnpm_config_') || LAUNCHER_ADDED.has(lower)))
      continue;
    out[name] = launched && lower === 'path' ? launcherPathRemoved(value, env, delimiter) : value;
  }
  return out;
}

/** Node reads these for the psremote process itself. */
const NODE_OWN = new Set([
  'node_options',
  'node_channel_fd',
  'node_channel_serialization_mode',
  'node_unique_id',
]);

/** Set (in lower case) by npm, pnpm and yarn for every program they start; nobody exports them by hand. */
const LAUNCHER_MARKERS = new Set(['npm_config_user_agent', 'npm_execpath', 'npm_lifecycle_event']);

/** What npm (`INIT_CWD`, `NODE`, `COLOR`), pnpm and yarn berry add besides the `npm_*` variables. */
const LAUNCHER_ADDED = new Set([
  'init_cwd',
  'node',
  'color',
  'pnpm_package_name',
  'pnpm_script_src_dir',
  'berry_bin_folder',
  'project_cwd',
]);

/**
 * The PATH the user had: the package manager prepends `<dir>/node_modules/.bin` for the folder and each parent,
 * npm its `node-gyp-bin`, yarn berry a temporary bin folder. Only those entries at the front are removed; the
 * same folder later in PATH was the user's.
 */
function launcherPathRemoved(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  delimiter: string,
): string {
  const berry = Object.entries(env).find(([k]) => k.toLowerCase() === 'berry_bin_folder')?.[1];
  const entries = path.split(delimiter);
  let i = 0;
  while (i < entries.length) {
    const e = (entries[i] as string).replace(/[\\/]+$/, '');
    const added =
      /(^|[\\/])node_modules[\\/]\.bin$/.test(e) ||
      /[\\/]node-gyp-bin$/.test(e) ||
      (berry !== undefined && e === berry.replace(/[\\/]+$/, ''));
    if (!added) break;
    i++;
  }
  return entries.slice(i).join(delimiter);
}
