import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { BoundParameters, BoundValue } from '@psremote/core';
import SSHConfig from 'ssh-config';
import { sshError } from './errors.ts';
import { parseSshHostName, sshUserName } from './parse-host-name.ts';
import type { IdentityFile, SshTarget, StrictHostKeyChecking } from './ssh-target.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolveOptions {
  /** The system-wide ssh_config; null reads none. Default /etc/ssh/ssh_config. */
  readonly systemConfigPath?: string | null;
  /** The user's ssh_config; default ~/.ssh/config under env.HOME. */
  readonly userConfigPath?: string;
}

/** The ssh_config keywords this transport honours (lower case), from -Options or the config files. */
const KNOWN = new Set([
  'hostname',
  'port',
  'user',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'stricthostkeychecking',
  'userknownhostsfile',
  'globalknownhostsfile',
  'hostkeyalias',
  'hashknownhosts',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'proxyjump',
  'batchmode',
  'pubkeyauthentication',
  'passwordauthentication',
  'kbdinteractiveauthentication',
  'challengeresponseauthentication',
  'numberofpasswordprompts',
]);
/** Keywords that only affect ssh's own output or local features: accepted silently. */
const HARMLESS = new Set([
  'loglevel',
  'sendenv',
  'setenv',
  'gssapiauthentication',
  'forwardagent',
  'forwardx11',
  'requesttty',
  'compression',
  'addkeystoagent',
  'visualhostkey',
  'updatehostkeys',
  'checkhostip',
  'controlmaster',
  'controlpath',
  'controlpersist',
  'include',
]);
/** Keywords whose every occurrence counts (ssh_config(5)); for the others the first value wins. */
const REPEATABLE = new Set(['identityfile']);

export function localUserName(env: Env): string {
  const u = env.USER ?? env.USERNAME ?? env.LOGNAME;
  if (u) return u;
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

function homeOf(env: Env): string {
  return (
    env.HOME ??
    env.USERPROFILE ??
    (() => {
      try {
        return userInfo().homedir;
      } catch {
        return '/';
      }
    })()
  );
}

/** Collects settings the way ssh does: every source in order, the first value of a keyword wins. */
class Settings {
  private readonly single = new Map<string, string[]>();
  private readonly multi = new Map<string, { value: string; explicit: boolean }[]>();

  set(key: string, value: string | string[], explicit: boolean): void {
    const k = key.toLowerCase();
    const values = Array.isArray(value) ? value : [value];
    if (REPEATABLE.has(k)) {
      const list = this.multi.get(k) ?? [];
      for (const v of values) list.push({ value: v, explicit });
      this.multi.set(k, list);
    } else if (!this.single.has(k)) {
      this.single.set(
        k,
        values.flatMap((v) => v.split(/\s+/)).filter((v) => v !== ''),
      );
    }
  }
  get(key: string): string | undefined {
    return this.single.get(key)?.[0];
  }
  all(key: string): string[] | undefined {
    return this.single.get(key);
  }
  list(key: string): { value: string; explicit: boolean }[] {
    return this.multi.get(key) ?? [];
  }
}

function loadConfig(
  path: string | null | undefined,
  host: string,
  user: string | undefined,
): Record<string, string | string[]> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    // matchExec false: psremote never runs the shell commands of `Match exec`.
    const config = SSHConfig.parse(text);
    return config.compute(user ? { Host: host, User: user } : { Host: host }, {
      ignoreCase: true,
      matchExec: false,
    });
  } catch (e) {
    throw sshError(
      'SshInvalidOption',
      'InvalidArgument',
      `The SSH configuration file ${path} cannot be read: ${(e as Error).message}`,
      {
        targetObject: path,
        recommendedAction: `Fix the syntax of ${path} (ssh -G ${host} shows what OpenSSH makes of it).`,
        cause: e,
      },
    );
  }
}

function yesNo(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw badOption(key, value, 'yes or no');
}

function badOption(key: string, value: string, expected: string): Error {
  return sshError(
    'SshInvalidOption',
    'InvalidArgument',
    `The SSH option ${key}=${value} is not valid: expected ${expected}.`,
    {
      targetObject: `${key}=${value}`,
      recommendedAction: `Correct the value of ${key} in -Options or in your ssh_config.`,
    },
  );
}

function integer(key: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw badOption(key, value, `a whole number from ${min} to ${max}`);
  return Number(value);
}

function strictness(value: string | undefined): StrictHostKeyChecking {
  if (value === undefined) return 'ask';
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'ask' || v === 'accept-new') return v;
  if (v === 'no' || v === 'off') return 'no';
  throw badOption('StrictHostKeyChecking', value, 'yes, no, ask or accept-new');
}

/** ssh_config(5) TOKENS and `~`, for the path-like keywords. */
function expandPath(
  value: string,
  t: { home: string; host: string; alias: string; port: number; user: string; localUser: string },
): string {
  let v = value.replace(/%([%dhnpruLli])/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return t.home;
      case 'h':
        return t.host;
      case 'n':
        return t.alias;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'u':
        return t.localUser;
      case 'i':
        return String(process.getuid?.() ?? 0);
      default:
        return 'localhost';
    }
  });
  if (v === '~') v = t.home;
  else if (v.startsWith('~/')) v = join(t.home, v.slice(2));
  return v;
}

function str(v: BoundValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The SSHHost parameter set to an SshTarget (protocols.md 3.4): -HostName parsed as pwsh parses it (embedded
 * user and port beat -UserName and -Port), then the ssh command line pwsh would build (-i, -l, -p, -o...) merged
 * with ~/.ssh/config and the system ssh_config the way `ssh` merges them: the first value of a keyword wins.
 */
export function resolveSshTarget(bound: BoundParameters, env: Env, options: ResolveOptions = {}): SshTarget {
  const b = bound.bound;
  const given = str(b.HostName) ?? str(b.ComputerName);
  if (!given)
    throw sshError(
      'PSSessionInvalidComputerName',
      'InvalidArgument',
      'No host name was given: -HostName is required.',
      {},
    );
  const parsed = parseSshHostName(given);
  const explicitUser = parsed.userName ?? str(b.UserName);
  const explicitPort = parsed.port ?? (typeof b.Port === 'number' && b.Port !== 0 ? b.Port : undefined);
  const home = homeOf(env);
  const localUser = localUserName(env);

  const s = new Settings();
  // 1. pwsh's -i, -l and -p come before its -o options on the ssh command line.
  const keyFile = str(b.KeyFilePath) ?? str(b.IdentityFilePath);
  if (keyFile) {
    const full = resolve(keyFile);
    // PowerShell checks the key file before starting ssh (RunspaceConnectionInfo.cs: KeyFileNotFound).
    if (!existsSync(full)) {
      throw sshError('KeyFileNotFound', 'ObjectNotFound', `The specified key file ${full} was not found.`, {
        targetObject: full,
        recommendedAction: 'Give the path of an existing private key file with -KeyFilePath.',
      });
    }
    s.set('identityfile', full, true);
  }
  if (explicitUser) s.set('user', sshUserName(explicitUser), true);
  if (explicitPort !== undefined) s.set('port', String(explicitPort), true);
  // 2. -Options: each entry is one `-o key=value`.
  const ignored: string[] = [];
  const opts = b.Options;
  if (opts && typeof opts === 'object' && !Array.isArray(opts)) {
    for (const [key, value] of Object.entries(opts as Record<string, string>)) {
      const k = key.toLowerCase();
      if (!KNOWN.has(k) && !HARMLESS.has(k)) ignored.push(key);
      s.set(k, String(value), true);
    }
  }
  // 3. The user's then the system's ssh_config, matched against the host as given.
  const userConfig = options.userConfigPath ?? join(home, '.ssh', 'config');
  for (const path of [
    userConfig,
    options.systemConfigPath === undefined ? '/etc/ssh/ssh_config' : options.systemConfigPath,
  ]) {
    const computed = loadConfig(path, parsed.host, explicitUser);
    for (const [k, v] of Object.entries(computed)) {
      if (k === 'host' || k === 'match') continue;
      s.set(k, v, false);
    }
  }

  const user = s.get('user') ?? localUser;
  const port = integer('Port', s.get('port'), 1, 65535) ?? 22;
  const hostName = (s.get('hostname') ?? parsed.host).replace(/%h/g, parsed.host).replace(/%%/g, '%');
  const tokens = { home, host: hostName, alias: parsed.host, port, user, localUser };

  const identityFiles: IdentityFile[] = [];
  for (const { value, explicit } of s.list('identityfile')) {
    if (value.toLowerCase() === 'none') continue;
    const p = expandPath(value, tokens);
    const full = isAbsolute(p) ? p : resolve(home, p);
    if (!identityFiles.some((f) => f.path === full)) identityFiles.push({ path: full, explicit });
  }
  if (identityFiles.length === 0) {
    // ssh(1): the default identities, when no IdentityFile was named anywhere.
    for (const name of ['id_rsa', 'id_ecdsa', 'id_ed25519', 'id_dsa'])
      identityFiles.push({ path: join(home, '.ssh', name), explicit: false });
  }

  const knownHosts = (key: string, fallback: string[]): string[] =>
    (s.all(key) ?? fallback).filter((v) => v.toLowerCase() !== 'none').map((v) => expandPath(v, tokens));
  const connectTimeout = integer('ConnectTimeout', s.get('connecttimeout'), 0, 86_400);
  const connecting =
    typeof b.ConnectingTimeout === 'number' && b.ConnectingTimeout > 0 ? b.ConnectingTimeout : undefined;
  const agent = s.get('identityagent');
  const hostKeyAlias = s.get('hostkeyalias');
  const kbd = s.get('kbdinteractiveauthentication') ?? s.get('challengeresponseauthentication');
  const proxyJump = s.get('proxyjump');
  // HostUtilities.GetRemotePrompt: `[user@host]: ` when pwsh was given a user other than the local one.
  const promptText =
    explicitUser && explicitUser !== localUser ? `[${explicitUser}@${parsed.host}]: ` : `[${parsed.host}]: `;

  return {
    computerName: parsed.host,
    prompt: { kind: 'prefix', text: promptText },
    alias: parsed.host,
    hostName,
    port,
    user,
    identityFiles,
    identitiesOnly: yesNo('IdentitiesOnly', s.get('identitiesonly'), false),
    ...(agent ? { identityAgent: expandPath(agent, tokens) } : {}),
    subsystem: str(b.Subsystem) ?? 'powershell',
    userKnownHostsFiles: knownHosts('userknownhostsfile', ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']),
    globalKnownHostsFiles: knownHosts('globalknownhostsfile', [
      '/etc/ssh/ssh_known_hosts',
      '/etc/ssh/ssh_known_hosts2',
    ]),
    ...(hostKeyAlias ? { hostKeyAlias } : {}),
    strictHostKeyChecking: strictness(s.get('stricthostkeychecking')),
    hashKnownHosts: yesNo('HashKnownHosts', s.get('hashknownhosts'), false),
    batchMode: yesNo('BatchMode', s.get('batchmode'), false),
    pubkeyAuthentication: yesNo('PubkeyAuthentication', s.get('pubkeyauthentication'), true),
    passwordAuthentication: yesNo('PasswordAuthentication', s.get('passwordauthentication'), true),
    kbdInteractiveAuthentication: yesNo('KbdInteractiveAuthentication', kbd, true),
    numberOfPasswordPrompts:
      integer('NumberOfPasswordPrompts', s.get('numberofpasswordprompts'), 0, 100) ?? 3,
    ...(connectTimeout ? { connectTimeoutMs: connectTimeout * 1000 } : {}),
    ...(connecting ? { connectingTimeoutMs: connecting } : {}),
    serverAliveIntervalMs:
      (integer('ServerAliveInterval', s.get('serveraliveinterval'), 0, 86_400) ?? 0) * 1000,
    serverAliveCountMax: integer('ServerAliveCountMax', s.get('serveralivecountmax'), 0, 1000) ?? 3,
    ...(proxyJump && proxyJump.toLowerCase() !== 'none' ? { proxyJump } : {}),
    ignoredOptions: ignored,
    displayName: port === 22 ? hostName : `[${hostName}]:${port}`,
  };
}
