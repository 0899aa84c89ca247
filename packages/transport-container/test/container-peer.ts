import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A real podman engine with its Docker-compatible API on a private socket (peers.md section 3): a small Debian
 * rootfs made with debootstrap whose configured user is not root, the host's pwsh and .NET runtime bind-mounted
 * read-only. Cached under /opt/psremote-peers/container so reruns take seconds.
 */
export const PEERS = process.env.PSREMOTE_CONTAINER_PEERS ?? '/opt/psremote-peers/container';
export const IMAGE = 'localhost/psremote-test:2';
/** The default prefix: transport-container's own tests (and the bench) use these names and this socket. */
export const DEFAULT_PREFIX = 'psremote-ct';
export const WITH_PWSH = `${DEFAULT_PREFIX}-pwsh`;
export const WITHOUT_PWSH = `${DEFAULT_PREFIX}-nopwsh`;
export const STOPPED = `${DEFAULT_PREFIX}-stopped`;
export const SOCKET = join(PEERS, 'podman.sock');
/** Every container a peer starts carries this label with the pid of the process that started it. */
const OWNER_LABEL = 'psremote.test-owner-pid';
const PWSH_DIR = join(PEERS, 'pwsh');

function sh(cmd: string, args: string[], opts: { input?: string | Buffer; timeout?: number } = {}): string {
  return execFileSync(cmd, args, {
    env: podmanEnv(),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: opts.timeout ?? 600_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

export function podmanEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${process.env.PATH}:/usr/sbin:/sbin:${process.env.HOME}/.dotnet/tools`,
    CONTAINERS_CONF: join(PEERS, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(PEERS, 'storage.conf'),
  };
}

function mirror(): string {
  try {
    const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text);
    if (m) return m[1] as string;
  } catch {
    // fall through
  }
  return 'http://deb.debian.org/debian';
}

function ensurePackages(): void {
  const missing = ['podman', 'runc', 'debootstrap'].filter((p) => {
    try {
      execFileSync('dpkg', ['-s', p], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: 'ignore',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

/**
 * Another test project may be running podman with these files while this one starts: they are rewritten only
 * when their text changes, so a concurrent reader never sees one half-written.
 */
function writeIfChanged(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    // not there yet
  }
  writeFileSync(path, text);
}

function writeConfig(): void {
  mkdirSync(join(PEERS, 'tmp'), { recursive: true });
  const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  writeIfChanged(
    join(PEERS, 'containers.conf'),
    `[containers]\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=4096:4096"]\nnetns = "host"\nlog_driver = "k8s-file"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "${PEERS}/events.log"\nruntime = "runc"\ntmp_dir = "${PEERS}/tmp"\nexit_command_delay = 10\n`,
  );
  writeIfChanged(
    join(PEERS, 'storage.conf'),
    `[storage]\ndriver = "overlay"\ngraphroot = "${PEERS}/root"\nrunroot = "${PEERS}/run"\n`,
  );
}

function ensureImage(): void {
  const have = (() => {
    try {
      sh('podman', ['image', 'exists', IMAGE]);
      return true;
    } catch {
      return false;
    }
  })();
  if (have) return;
  const rootfs = join(PEERS, 'rootfs');
  if (!existsSync(join(rootfs, '.psremote-done'))) {
    execFileSync('rm', ['-rf', rootfs]);
    execFileSync(
      'debootstrap',
      ['--variant=minbase', '--include=libssl3,ca-certificates', 'bookworm', rootfs, mirror()],
      {
        stdio: 'ignore',
        timeout: 900_000,
      },
    );
    execFileSync('chroot', [rootfs, 'useradd', '-m', '-u', '1000', '-s', '/bin/sh', 'ctuser']);
    writeFileSync(join(rootfs, '.psremote-done'), 'ok\n');
  }
  const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 2 ** 31 });
  sh(
    'podman',
    [
      'import',
      '-q',
      '--change',
      'USER ctuser',
      '--change',
      `ENV PATH=${PWSH_DIR}:/usr/share/dotnet:/usr/local/bin:/usr/bin:/bin`,
      '--change',
      'ENV DOTNET_ROOT=/usr/share/dotnet',
      '--change',
      'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1',
      '--change',
      'WORKDIR /home/ctuser',
      '-',
      IMAGE,
    ],
    { input: tar },
  );
}

function ensurePwsh(): void {
  if (existsSync(join(PWSH_DIR, 'pwsh'))) return;
  execFileSync('dotnet', ['tool', 'install', 'PowerShell', '--version', '7.6.9', '--tool-path', PWSH_DIR], {
    stdio: 'ignore',
    timeout: 600_000,
  });
  execFileSync('chmod', ['-R', 'a+rX', PEERS]);
}

function container(name: string, args: string[]): void {
  try {
    sh('podman', ['rm', '-f', '-t', '0', name]);
  } catch {
    // not there
  }
  sh('podman', [
    args[0] as string,
    '--name',
    name,
    '--label',
    `${OWNER_LABEL}=${process.pid}`,
    ...args.slice(1),
  ]);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Containers left by a test process that died before its stop (a killed vitest): those whose owner pid is gone.
 * Containers of a live process (another project's or worktree's run) are left alone.
 */
function removeOrphans(): void {
  let lines: string[] = [];
  try {
    lines = sh('podman', [
      'ps',
      '-a',
      '--filter',
      `label=${OWNER_LABEL}`,
      '--format',
      `{{.Names}} {{index .Labels "${OWNER_LABEL}"}}`,
    ])
      .split('\n')
      .filter(Boolean);
  } catch {
    return;
  }
  for (const line of lines) {
    const [name, pid] = line.split(' ');
    if (!name || pidAlive(Number(pid))) continue;
    try {
      sh('podman', ['rm', '-f', '-t', '0', name], { timeout: 60_000 });
    } catch {
      // gone meanwhile
    }
  }
}

export interface ContainerPeerOptions {
  /**
   * The start of the container names (`<prefix>-pwsh`, `<prefix>-nopwsh`, `<prefix>-stopped`) and of the engine
   * socket's name. The default keeps transport-container's names; another package passes its own (with a unique
   * suffix, e.g. its pid) so the two never `podman rm -f` each other's containers when their tests run at once.
   */
  prefix?: string;
  /** Only the running container with pwsh (the others cost start-up time a caller may not need). */
  withPwshOnly?: boolean;
}

export interface ContainerPeer {
  socket: string;
  servicePid: number;
  withPwshId: string;
  /** The names of this peer's containers. */
  names: { withPwsh: string; withoutPwsh: string; stopped: string };
}

export async function startContainerPeer(options: ContainerPeerOptions = {}): Promise<ContainerPeer> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const names = { withPwsh: `${prefix}-pwsh`, withoutPwsh: `${prefix}-nopwsh`, stopped: `${prefix}-stopped` };
  const socket = prefix === DEFAULT_PREFIX ? SOCKET : join(PEERS, `${prefix}.sock`);
  ensurePackages();
  mkdirSync(PEERS, { recursive: true });
  execFileSync('chmod', ['755', '/opt/psremote-peers', PEERS]);
  writeConfig();
  ensurePwsh();
  ensureImage();
  removeOrphans();
  const mounts = ['-v', `${PWSH_DIR}:${PWSH_DIR}:ro`, '-v', '/usr/share/dotnet:/usr/share/dotnet:ro'];
  container(names.withPwsh, ['run', '-d', ...mounts, IMAGE, 'sleep', 'infinity']);
  if (!options.withPwshOnly) {
    container(names.withoutPwsh, ['run', '-d', IMAGE, 'sleep', 'infinity']);
    container(names.stopped, ['create', ...mounts, IMAGE, 'sleep', 'infinity']);
  }
  const withPwshId = sh('podman', ['inspect', '-f', '{{.Id}}', names.withPwsh]).trim();
  try {
    execFileSync('rm', ['-f', socket]);
  } catch {
    // none
  }
  const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: podmanEnv(),
    stdio: 'ignore',
    detached: true,
  });
  service.unref();
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) throw new Error('podman system service did not create its socket');
  return { socket, servicePid: service.pid as number, withPwshId, names };
}

export function stopContainerPeer(peer: ContainerPeer | undefined): void {
  if (peer) {
    try {
      process.kill(-peer.servicePid, 'SIGTERM');
    } catch {
      try {
        process.kill(peer.servicePid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }
  const names = peer?.names ?? { withPwsh: WITH_PWSH, withoutPwsh: WITHOUT_PWSH, stopped: STOPPED };
  for (const name of [names.withPwsh, names.withoutPwsh, names.stopped]) {
    try {
      sh('podman', ['rm', '-f', '-t', '0', name], { timeout: 60_000 });
    } catch {
      // gone
    }
  }
  if (peer && peer.socket !== SOCKET) rmSync(peer.socket, { force: true });
}
