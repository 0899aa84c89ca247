/**
 * The OMI peer: Microsoft's WS-Management server (microsoft/omi) with PowerShell 7's own WSMan plugin
 * (PowerShell/psl-omi-provider), the closest thing to Windows' WinRM service that runs on Linux. Built once per
 * machine by `scripts/setup.sh --peers` (`scripts/omi-peer.sh build`, ../shared/peers/omi/build.sh) into
 * /opt/psremote-peers/omi-<hash of its sources>; started here on free ports, stopped by pid.
 *
 *   const omi = await startOmi(); ... http://127.0.0.1:${omi.httpPort}/wsman ...; await omi.stop();
 *
 * Every instance gets its own run directory (pid file, local socket, engine socket directory, log), so a test
 * run and `pnpm peer:omi` (ports 5985/5986) can share one build. Needs root: the server authenticates through
 * PAM and starts each shell's agent as the authenticated user. Node builtins only (the bench imports it too).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OMI_USER = 'psuser';
export const OMI_PASSWORD = 'Passw0rd!';

export interface OmiPeer {
  readonly host: '127.0.0.1';
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly user: string;
  readonly password: string;
  /** This instance's self-signed server certificate (127.0.0.1, localhost): trust it explicitly for HTTPS. */
  readonly caPem: string;
  /** The omiserver process (its engine and agents are its children; stop() ends them all). */
  readonly pid: number;
  /** The build (`omi-<hash>`): `psl/omi/Unix/output` is OMI's tree, `pshome` the plugin's PowerShell. */
  readonly buildDir: string;
  /** This instance's run directory: `omiserver.log` (OMI's log) and `stderr.log`. */
  readonly runDir: string;
  stop(): Promise<void>;
}

/** The peer cannot be had here (not built, not root, ...): the message says why and what to do. */
export class OmiUnavailable extends Error {
  override readonly name = 'OmiUnavailable';
}

/** scripts/omi-peer.sh of this checkout, found upwards from this file (it also runs compiled, from bench/.build). */
function findPeerScript(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const script = join(d, 'scripts/omi-peer.sh');
    if (existsSync(script)) return script;
    if (dirname(d) === d) throw new OmiUnavailable('scripts/omi-peer.sh not found above this file');
  }
}

/** The build directory for the current sources (`scripts/omi-peer.sh dir`), and whether it is complete. */
export function omiBuild(): { dir: string; complete: boolean } {
  let dir: string;
  try {
    dir = execFileSync('bash', [findPeerScript(), 'dir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new OmiUnavailable((err.stderr || err.message).trim());
  }
  const complete =
    existsSync(join(dir, '.complete')) &&
    existsSync(join(dir, 'psl/omi/Unix/output/bin/omiserver')) &&
    existsSync(join(dir, 'pshome/System.Management.Automation.dll'));
  return { dir, complete };
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

/**
 * Starts omiserver from the cached build on `httpPort`/`httpsPort` (default: free ports) and resolves once
 * both listen. Throws OmiUnavailable when it cannot (no build: run `bash scripts/setup.sh --peers`).
 */
export async function startOmi(
  opts: {
    httpPort?: number;
    httpsPort?: number;
    /** More omiserver options, e.g. `['--loglevel', 'debug', '--httptrace']` (traces under OMI's var/log). */
    extraArgs?: readonly string[];
  } = {},
): Promise<OmiPeer> {
  if (process.getuid?.() !== 0)
    throw new OmiUnavailable(
      'the OMI server must run as root (it authenticates through PAM and starts each shell as its user)',
    );
  const build = omiBuild();
  if (!build.complete)
    throw new OmiUnavailable(
      `OMI is not built at ${build.dir} (build it once: bash scripts/setup.sh --peers, about 4 minutes)`,
    );
  const out = join(build.dir, 'psl/omi/Unix/output');
  const httpPort = opts.httpPort ?? (await freePort());
  const httpsPort = opts.httpsPort ?? (await freePort());
  for (const p of [httpPort, httpsPort])
    if (await listening(p)) throw new OmiUnavailable(`port ${p} on 127.0.0.1 is already in use`);

  // OMI's engine runs as `omi` and binds its sockets in the run directory and `<sysconfdir>/sockets`, which the
  // server empties at start: a private one per instance keeps two instances off each other's sockets.
  const runDir = mkdtempSync(join(tmpdir(), 'psremote-omi-'));
  mkdirSync(join(runDir, 'etc/sockets'), { recursive: true });
  const omi = Number(execFileSync('id', ['-u', 'omi'], { encoding: 'utf8' }).trim());
  const omiGid = Number(execFileSync('id', ['-g', 'omi'], { encoding: 'utf8' }).trim());
  for (const d of [runDir, join(runDir, 'etc'), join(runDir, 'etc/sockets')]) chownSync(d, omi, omiGid);
  execFileSync('chmod', ['755', runDir]);
  // A certificate of its own for 127.0.0.1 (OMI's build made one for the host name only), so a client can trust
  // exactly this one and keep the name check. The engine (user omi) serves TLS: it must read the key.
  const pem = join(runDir, 'cert.pem');
  const key = join(runDir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      pem,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
    ].concat(['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
    { stdio: 'ignore' },
  );
  chownSync(key, omi, omiGid);

  const args = [
    '--httpport',
    String(httpPort),
    '--httpsport',
    String(httpsPort),
    '--rundir',
    runDir,
    '--sysconfdir',
    join(runDir, 'etc'),
    '--pidfile',
    join(runDir, 'omiserver.pid'),
    '--socketfile',
    join(runDir, 'omiserver.sock'),
    '--logfile',
    join(runDir, 'omiserver.log'),
    '--pemfile',
    pem,
    '--keyfile',
    key,
    ...(opts.extraArgs ?? []),
  ];
  const errFd = openSync(join(runDir, 'stderr.log'), 'w');
  const child = spawn(join(out, 'bin/omiserver'), args, {
    // build.sh starts it from the provider's tree; the provider finds its PowerShell through CORE_ROOT.
    cwd: join(build.dir, 'psl'),
    env: { ...process.env, LD_LIBRARY_PATH: join(out, 'lib'), CORE_ROOT: join(build.dir, 'pshome') },
    stdio: ['ignore', errFd, errFd],
  });
  closeSync(errFd);
  const pid = child.pid;
  if (pid === undefined) throw new OmiUnavailable('omiserver did not start');

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM: omiserver stops its engine and agents; SIGKILL after 5 s, and the agents by their parent.
        const agents = childPids(pid);
        process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {}
        }, 5000);
        await exited(child);
        clearTimeout(timer);
        for (const a of agents) {
          try {
            process.kill(a, 'SIGKILL');
          } catch {}
        }
      }
      rmSync(runDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + 20_000;
  while (!((await listening(httpPort)) && (await listening(httpsPort)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = readTail(join(runDir, 'stderr.log')) || readTail(join(runDir, 'omiserver.log'));
      await stop();
      throw new OmiUnavailable(`omiserver did not listen on ${httpPort}/${httpsPort}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: '127.0.0.1',
    httpPort,
    httpsPort,
    user: OMI_USER,
    password: OMI_PASSWORD,
    caPem: readFileSync(pem, 'utf8'),
    pid,
    buildDir: build.dir,
    runDir,
    stop,
  };
}

/** The pids whose parent is `pid` and their descendants (the engine and the per-user agents). */
function childPids(pid: number): number[] {
  let text = '';
  try {
    text = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const pairs = text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of pairs)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

function readTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
  }
}
