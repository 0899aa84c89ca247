/**
 * A private OpenSSH sshd on 127.0.0.1 with real PowerShell 7.6.9 as its `powershell` subsystem (peers.md 2).
 * Used by this package's vitest globalSetup, and importable by other packages' test setups (the CLI's
 * interactive SSH test): `const peer = await startSshPeer(); ...; await peer.stop();`.
 *
 * Idempotent and cached under /opt/psremote-peers (override with PSREMOTE_PEERS_DIR): openssh-server from apt
 * when missing, the `pstest` user (password `Passw0rd!`), a world-readable pwsh (`dotnet tool install
 * --tool-path`, since pstest cannot run the one under /root), host and client keys.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const PEER_USER = 'pstest';
export const PEER_PASSWORD = 'Passw0rd!';
/** The passphrase of the encrypted client key. */
export const ENCRYPTED_KEY_PASSPHRASE = 'correct horse';
export const PWSH_VERSION = '7.6.9';

export interface SshPeer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Folder holding the keys, configs and logs. */
  readonly dir: string;
  /** The pwsh the subsystem runs. */
  readonly pwshPath: string;
  /** Client keys: in authorized_keys unless named otherwise. */
  readonly keys: {
    readonly ed25519: string;
    /** RSA in PEM format (`-----BEGIN RSA PRIVATE KEY-----`). */
    readonly rsaPem: string;
    /** ed25519 (OpenSSH format) encrypted with ENCRYPTED_KEY_PASSPHRASE. */
    readonly encrypted: string;
    /** Authorized, meant to be loaded only into a test ssh-agent. */
    readonly agentOnly: string;
    /** Not in authorized_keys. */
    readonly unauthorized: string;
    /** Encrypted with ENCRYPTED_KEY_PASSPHRASE and not in authorized_keys. */
    readonly encryptedUnauthorized: string;
  };
  /** The server's ed25519 host key (public, `ssh-ed25519 AAAA...`). */
  readonly hostPublicKey: string;
  /** A known_hosts file (written once) with the `[127.0.0.1]:port` entry for this server. */
  readonly knownHostsPath: string;
  /** Subsystems configured besides `powershell`: `broken` runs a program that does not exist. */
  readonly brokenSubsystem: 'broken';
  readonly sshdPid: number;
  /** A second sshd with PAM keyboard-interactive as its only password method (PasswordAuthentication no). */
  readonly kbdPort: number;
  readonly kbdKnownHostsPath: string;
  /** The sshd log (-E). */
  readonly logPath: string;
  stop(): Promise<void>;
}

const run = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input,
    timeout: 600_000,
  });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function ensureSshd(): string {
  const sshd = '/usr/sbin/sshd';
  if (existsSync(sshd)) return sshd;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', 'openssh-server', 'openssh-client'], {
      env,
      encoding: 'utf8',
      timeout: 600_000,
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, timeout: 600_000 });
    r = install();
  }
  if (!existsSync(sshd)) throw new Error(`openssh-server could not be installed: ${r.stderr?.slice(-500)}`);
  return sshd;
}

function ensurePwsh(peers: string): string {
  const toolDir = join(peers, 'pwsh');
  const pwsh = join(toolDir, 'pwsh');
  if (!existsSync(pwsh)) {
    mkdirSync(peers, { recursive: true, mode: 0o755 });
    const args = ['tool', 'install', 'PowerShell', '--version', PWSH_VERSION, '--tool-path', toolDir];
    try {
      run('dotnet', args);
    } catch (e) {
      // Offline: the package of an existing global install (scripts/setup.sh) is a local source.
      const store = join(
        process.env.HOME ?? '/root',
        '.dotnet/tools/.store/powershell',
        PWSH_VERSION,
        'powershell',
        PWSH_VERSION,
      );
      if (!existsSync(store)) throw e;
      run('dotnet', [...args, '--add-source', store]);
    }
  }
  // World-readable: sshd runs the subsystem as pstest.
  run('chmod', ['a+rx', peers]);
  run('chmod', ['-R', 'a+rX', toolDir]);
  return pwsh;
}

function ensureUser(): void {
  if (spawnSync('id', [PEER_USER]).status !== 0) run('useradd', ['-m', '-s', '/bin/bash', PEER_USER]);
  run('chpasswd', [], `${PEER_USER}:${PEER_PASSWORD}\n`);
}

function keygen(path: string, args: string[]): void {
  if (existsSync(path)) return;
  run('ssh-keygen', ['-q', ...args, '-C', `psremote-test-${path.split('/').pop()}`, '-f', path]);
}

/** Starts sshd (it daemonizes) and returns the pid it writes. */
async function startSshd(sshd: string, config: string, pidFile: string, logPath: string): Promise<number> {
  run(sshd, ['-t', '-f', config]);
  rmSync(pidFile, { force: true });
  run(sshd, ['-f', config, '-E', logPath]);
  for (let i = 0; i < 100; i++) {
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid) return pid;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not start; see ${logPath}`);
}

/** Starts a private sshd (installing what is missing). Throws with the reason when it cannot. */
export async function startSshPeer(): Promise<SshPeer> {
  const peers = process.env.PSREMOTE_PEERS_DIR ?? '/opt/psremote-peers';
  const sshd = ensureSshd();
  const pwshPath = ensurePwsh(peers);
  ensureUser();
  const dir = join(peers, 'ssh');
  mkdirSync(join(dir, 'authorized_keys'), { recursive: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const k = (n: string) => join(dir, n);
  keygen(k('host_ed25519'), ['-t', 'ed25519', '-N', '']);
  keygen(k('client_ed25519'), ['-t', 'ed25519', '-N', '']);
  keygen(k('client_rsa_pem'), ['-t', 'rsa', '-b', '3072', '-m', 'PEM', '-N', '']);
  keygen(k('client_encrypted'), ['-t', 'ed25519', '-N', ENCRYPTED_KEY_PASSPHRASE]);
  keygen(k('client_agent'), ['-t', 'ed25519', '-N', '']);
  keygen(k('client_unauthorized'), ['-t', 'ed25519', '-N', '']);
  keygen(k('client_encrypted_unauthorized'), ['-t', 'ed25519', '-N', ENCRYPTED_KEY_PASSPHRASE]);
  for (const n of [
    'host_ed25519',
    'client_ed25519',
    'client_rsa_pem',
    'client_encrypted',
    'client_agent',
    'client_unauthorized',
    'client_encrypted_unauthorized',
  ])
    chmodSync(k(n), 0o600);
  writeFileSync(
    join(dir, 'authorized_keys', PEER_USER),
    ['client_ed25519', 'client_rsa_pem', 'client_encrypted', 'client_agent']
      .map((n) => readFileSync(k(`${n}.pub`), 'utf8').trim())
      .join('\n') + '\n',
  );
  writeFileSync(k('banner.txt'), 'psremote test sshd: authorized use only\n');

  const port = await freePort();
  const pidFile = k(`sshd-${port}.pid`);
  const logPath = k(`sshd-${port}.log`);
  const config = k(`sshd_config-${port}`);
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${k('host_ed25519')}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}/%u`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin no',
      `AllowUsers ${PEER_USER}`,
      'PrintMotd no',
      'MaxAuthTries 10',
      `Banner ${k('banner.txt')}`,
      `Subsystem powershell ${pwshPath} -sshs -NoLogo -NoProfile`,
      'Subsystem broken /nonexistent/pwsh -sshs -NoLogo',
      '',
    ].join('\n'),
  );
  const pid = await startSshd(sshd, config, pidFile, logPath);

  const kbdPort = await freePort();
  const kbdPidFile = k(`sshd-${kbdPort}.pid`);
  const kbdConfig = k(`sshd_config-${kbdPort}`);
  writeFileSync(
    kbdConfig,
    [
      `Port ${kbdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${k('host_ed25519')}`,
      `PidFile ${kbdPidFile}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}/%u`,
      'StrictModes no',
      'UsePAM yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication yes',
      'PubkeyAuthentication yes',
      `AllowUsers ${PEER_USER}`,
      'PrintMotd no',
      `Subsystem powershell ${pwshPath} -sshs -NoLogo -NoProfile`,
      '',
    ].join('\n'),
  );
  let kbdPid = 0;
  try {
    kbdPid = await startSshd(sshd, kbdConfig, kbdPidFile, k(`sshd-${kbdPort}.log`));
  } catch (e) {
    process.kill(pid, 'SIGTERM');
    throw e;
  }

  const hostPublicKey = readFileSync(k('host_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsPath = k(`known_hosts-${port}`);
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
  const kbdKnownHostsPath = k(`known_hosts-${kbdPort}`);
  writeFileSync(kbdKnownHostsPath, `[127.0.0.1]:${kbdPort} ${hostPublicKey}\n`);

  return {
    host: '127.0.0.1',
    port,
    user: PEER_USER,
    password: PEER_PASSWORD,
    dir,
    pwshPath,
    keys: {
      ed25519: k('client_ed25519'),
      rsaPem: k('client_rsa_pem'),
      encrypted: k('client_encrypted'),
      agentOnly: k('client_agent'),
      unauthorized: k('client_unauthorized'),
      encryptedUnauthorized: k('client_encrypted_unauthorized'),
    },
    hostPublicKey,
    knownHostsPath,
    brokenSubsystem: 'broken',
    sshdPid: pid,
    kbdPort,
    kbdKnownHostsPath,
    logPath,
    async stop() {
      for (const p of [pid, kbdPid]) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      const files = [config, knownHostsPath, kbdConfig, kbdKnownHostsPath, pidFile, kbdPidFile];
      // The logs stay only when asked for (PSREMOTE_KEEP_PEER_LOGS=1), so the cache folder does not grow.
      if (process.env.PSREMOTE_KEEP_PEER_LOGS !== '1') files.push(logPath, k(`sshd-${kbdPort}.log`));
      for (const f of files) rmSync(f, { force: true });
    },
  };
}
