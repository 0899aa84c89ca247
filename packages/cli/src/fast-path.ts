import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { isatty } from 'node:tty';
import { Script, constants as vmConstants } from 'node:vm';
import { writeFrame } from './agent/frames.ts';
import { agentPaths, isPrivateDirectory } from './agent/locate.ts';
import { startRawUi } from './terminal/raw-ui-start.ts';

/** The verbs that can act on a session the agent holds. */
const HELD_SESSION_VERBS: ReadonlySet<string> = new Set(['enter', 'invoke', 'get', 'remove']);

/**
 * Whether a command line names a session the agent holds (-Id, -Name, -InstanceId, or `get`/`remove`), so that
 * it needs no transport in this process. A guess made before binding, for speed only: a wrong guess runs the
 * same CLI from the other build (main.ts binds and decides).
 */
export function usesHeldSession(argv: readonly string[]): boolean {
  const verb = argv[0];
  if (verb === undefined || !HELD_SESSION_VERBS.has(verb)) return false;
  if (verb === 'get' || verb === 'remove') return true;
  return argv.some((a) => /^-(id|name|instanceid)(:.*)?$/i.test(a));
}

/** What run.ts exports, as the bundle gives it. */
export interface CliModule {
  run(argv: readonly string[], early?: EarlyAgent): void;
}

/** A session named the plain way: `enter -Id 3`, `enter -Name web`, `enter -InstanceId <guid>` (or `-Name:web`). */
export type EarlySelector = { id: number } | { name: string } | { instanceId: string };

/**
 * The selector of `psremote enter` with exactly one of -Id, -Name, -InstanceId spelled out and a plain value, and
 * nothing else; undefined for any other command line. A guess made before binding: the CLI compares it with what
 * the binder makes of the command line before it uses what was sent with it.
 */
export function earlySelector(argv: readonly string[]): EarlySelector | undefined {
  if (argv[0] !== 'enter' || argv.length < 2 || argv.length > 3) return undefined;
  const m = /^-(id|name|instanceid)(?::(.+))?$/i.exec(argv[1] as string);
  if (!m || (m[2] === undefined) !== (argv.length === 3)) return undefined;
  const value = m[2] ?? (argv[2] as string);
  const which = (m[1] as string).toLowerCase();
  if (which === 'id') return /^[1-9][0-9]{0,8}$/.test(value) ? { id: Number(value) } : undefined;
  if (which === 'instanceid')
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)
      ? { instanceId: value }
      : undefined;
  return /^[A-Za-z0-9_.@]+$/.test(value) ? { name: value } : undefined;
}

/** What bin.js sent the agent before loading the CLI: the greeting, then attach with the prompt asked for. */
export interface EarlyAttach {
  readonly selector: EarlySelector;
  readonly interactive: true;
  /** The terminal's RawUI as sent (RawUiSnapshot). */
  readonly raw: ReturnType<typeof startRawUi>;
}

export interface EarlyAgent {
  readonly attach: EarlyAttach;
  /**
   * The connection and what arrived on it so far (the caller reads on from there); undefined when it closed
   * meanwhile. Once only.
   */
  take(): { socket: Socket; received: Buffer[] } | undefined;
}

/**
 * `psremote enter -Name web` in a terminal: connects to the agent and sends the greeting and the attach request,
 * with the prompt asked for, before the CLI is loaded, so that the agent finds the session and runs the remote
 * prompt function while this process compiles the CLI. The same checks as AgentClient.connect come first (a
 * private agent directory, the token readable); anything amiss, no agent, or another command line: undefined,
 * and the CLI does it all the usual way. Not on Windows.
 */
export async function connectEarly(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<EarlyAgent | undefined> {
  const selector = process.platform === 'win32' ? undefined : earlySelector(argv);
  if (!selector || !isatty(0)) return undefined;
  const paths = agentPaths(env);
  let token: string;
  try {
    if (!isPrivateDirectory(lstatSync(paths.dir), process.getuid?.() ?? -1)) return undefined;
    token = readFileSync(paths.token, 'utf8');
  } catch {
    return undefined;
  }
  const socket = await new Promise<Socket | undefined>((resolve) => {
    const s = createConnection(paths.socket);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => resolve(undefined));
  });
  if (!socket) return undefined;
  const attach: EarlyAttach = {
    selector,
    interactive: true,
    raw: startRawUi(process.stdout.columns, process.stdout.rows),
  };
  const received: Buffer[] = [];
  let closed = false;
  const onData = (chunk: Buffer) => received.push(chunk);
  const onClose = () => {
    closed = true;
  };
  const onError = () => {};
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
  // Until the CLI takes it, the connection does not keep the process alive (a CLI that stops early just ends).
  socket.unref();
  writeFrame(socket, { t: 'hello', token });
  writeFrame(socket, { t: 'attach', ...attach, mode: 'enter', pid: process.pid, prompt: true });
  let taken = false;
  return {
    attach,
    take() {
      if (taken) return undefined;
      taken = true;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (closed) {
        socket.destroy();
        return undefined;
      }
      socket.ref();
      return { socket, received };
    },
  };
}

/**
 * Node built-ins the bundle imports that a command on a held session seldom uses (crypto costs ~5 ms to load):
 * the bundle gets a stand-in that loads the module at its first use. The bundle reads them as namespaces
 * (`node_crypto.randomUUID(...)`), which the stand-in serves.
 */
const LOADED_AT_FIRST_USE: ReadonlySet<string> = new Set(['node:crypto', 'node:child_process']);

/** The first line of dist/run.bundle.cjs (scripts/bundle.mjs): an id made from the bundle's content. */
const BUNDLE_ID = /^\/\/ psremote-bundle ([0-9a-f]{16})\r?\n/;

/**
 * A code cache file: this magic, the payload's length (u32 LE), then the payload twice. V8 checks a cache's
 * version, flags and length but, in release builds, no checksum, and a damaged payload can crash the process;
 * the two copies must be equal byte for byte (a memcmp, where a checksum computed in JavaScript would cost more
 * than the cache saves), so a file damaged anywhere is refused before V8 reads it.
 */
const CACHE_MAGIC = Buffer.from('PSRCC01\n', 'latin1');
const CACHE_HEADER = CACHE_MAGIC.length + 4;
/** A cache larger than this is not ours. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
/** When no cache was used, one is written this long after the start (or at exit, if that comes first). */
const PRODUCE_AFTER_MS = 1500;

/**
 * Where the code cache is kept: PSREMOTE_CODE_CACHE_DIR, else `$XDG_CACHE_HOME/psremote`, `~/.cache/psremote`
 * (`%LOCALAPPDATA%\psremote\cache` on Windows). PSREMOTE_CODE_CACHE=0 turns the cache off (undefined).
 */
export function codeCacheDirectory(
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (env.PSREMOTE_CODE_CACHE === '0') return undefined;
  if (env.PSREMOTE_CODE_CACHE_DIR) return env.PSREMOTE_CODE_CACHE_DIR;
  if (platform === 'win32') return env.LOCALAPPDATA ? join(env.LOCALAPPDATA, 'psremote', 'cache') : undefined;
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'psremote');
  return env.HOME ? join(env.HOME, '.cache', 'psremote') : undefined;
}

/**
 * Whether a file (or directory) may feed V8 code to this process: owned by this user and writable by nobody
 * else. Bytecode from a file another user could write would run as this user.
 */
function trusted(st: { uid: number; mode: number }): boolean {
  if (process.platform === 'win32') return true;
  return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

/** The cache's payload, or undefined when there is none, or it is damaged, foreign or not trusted. */
export function readCodeCache(path: string): Buffer | undefined {
  let fd: number;
  try {
    const dir = lstatSync(dirname(path));
    if (!dir.isDirectory() || !trusted(dir)) return undefined;
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !trusted(st) || st.size < CACHE_HEADER || st.size > MAX_CACHE_BYTES) return undefined;
    const buf = readFileSync(fd);
    if (!buf.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return undefined;
    const length = buf.readUInt32LE(CACHE_MAGIC.length);
    if (buf.length !== CACHE_HEADER + 2 * length) return undefined;
    const first = buf.subarray(CACHE_HEADER, CACHE_HEADER + length);
    return first.equals(buf.subarray(CACHE_HEADER + length)) ? first : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a cache (a temporary file renamed over the old one, so a reader never sees half of it) and removes the
 * caches of other bundles (older builds) beside it. Any failure (a read-only home, a full disk) is ignored: the
 * cache only saves time.
 */
export function writeCodeCache(path: string, payload: Buffer): boolean {
  const dir = dirname(path);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || !trusted(st)) return false;
    const head = Buffer.alloc(CACHE_HEADER);
    CACHE_MAGIC.copy(head);
    head.writeUInt32LE(payload.length, CACHE_MAGIC.length);
    writeFileSync(tmp, Buffer.concat([head, payload, payload]), { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Nothing was written.
    }
    return false;
  }
  try {
    const mine = path.slice(dir.length + 1);
    for (const name of readdirSync(dir))
      if (name !== mine && name.startsWith('run.bundle-') && name.endsWith('.v8cache'))
        rmSync(join(dir, name), { force: true });
  } catch {
    // Old caches stay; they are small and never read.
  }
  return true;
}

/** The cache file of a bundle: per bundle id, Node version and architecture. */
export function codeCachePath(dir: string, bundleId: string): string {
  return join(dir, `run.bundle-${bundleId}-${process.version}-${process.arch}.v8cache`);
}

/**
 * Runs dist/run.bundle.cjs (a CommonJS script) the way Node runs a CommonJS module, but compiled through
 * vm.Script with a V8 code cache: Node 20 has no module.enableCompileCache, and compiling the ~350 KB bundle is
 * most of its load time. A cache that is missing, damaged, from another bundle or another Node (V8 rejects it)
 * costs nothing but the compile: the bundle is compiled from source and a new cache is written after the start
 * (the functions run by then are in it). Undefined when the bundle cannot be read (bin.js then loads the modules).
 */
export function loadBundle(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  sameDirRequire?: NodeJS.Require,
): CliModule | undefined {
  let source: string;
  try {
    // The bundle is ASCII (scripts/bundle.mjs): read as Latin-1 it is the same text, without a UTF-8 decode.
    source = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const id = BUNDLE_ID.exec(source)?.[1];
  const dir = id ? codeCacheDirectory(env) : undefined;
  const cachePath = dir && id ? codeCachePath(dir, id) : undefined;
  const cachedData = cachePath ? readCodeCache(cachePath) : undefined;
  const trace = env.PSREMOTE_TRACE_TIMING
    ? (m: string) => process.stderr.write(`psremote timing: ${m}\n`)
    : undefined;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // import() in the bundle (tsyringe, a transport) resolves as it would in a module of dist/.
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  trace?.(
    !cachePath
      ? 'no code cache'
      : !cachedData
        ? 'code cache: none usable'
        : script.cachedDataRejected
          ? 'code cache: rejected by V8'
          : 'code cache: used',
  );
  if (cachePath && (!cachedData || script.cachedDataRejected)) {
    let done = false;
    const produce = () => {
      if (done) return;
      done = true;
      process.off('exit', produce);
      try {
        const written = writeCodeCache(cachePath, script.createCachedData());
        trace?.(written ? `code cache: written to ${cachePath}` : 'code cache: not written');
      } catch {
        trace?.('code cache: not written'); // no cache this time
      }
    };
    setTimeout(produce, PRODUCE_AFTER_MS).unref();
    process.once('exit', produce);
  }
  // bin.cjs's own require resolves from dist/ as the bundle's would; node:module (which sets up Node's ES module
  // loader as it loads) only when there is none (dist/bin.js).
  const nodeRequire = sameDirRequire ?? process.getBuiltinModule('node:module').createRequire(file);
  const bundleRequire = Object.assign(
    (id: string): unknown =>
      LOADED_AT_FIRST_USE.has(id) ? atFirstUse(() => nodeRequire(id)) : nodeRequire(id),
    nodeRequire,
  );
  const module = { exports: {} as CliModule };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, bundleRequire, module, file, dirname(file));
  return module.exports;
}

/** A module namespace that loads the module when one of its members is first read. */
function atFirstUse(load: () => unknown): object {
  let mod: Record<string | symbol, unknown> | undefined;
  const get = () => {
    mod ??= load() as Record<string | symbol, unknown>;
    return mod;
  };
  return new Proxy(
    {},
    {
      get: (_t, key) => get()[key],
      has: (_t, key) => key in get(),
      ownKeys: () => Reflect.ownKeys(get()),
      getOwnPropertyDescriptor: (_t, key) => {
        const d = Reflect.getOwnPropertyDescriptor(get(), key);
        return d ? { ...d, configurable: true } : undefined;
      },
    },
  );
}
