import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PSRemotingError } from '@psremote/core';

/** Where the engine listens: a unix socket, a Windows named pipe, or TCP (with TLS from DOCKER_CERT_PATH). */
export type EngineEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly display: string }
  | { readonly kind: 'npipe'; readonly path: string; readonly display: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly tls:
        | { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly verify: boolean }
        | undefined;
      readonly display: string;
    };

type Tls = Extract<EngineEndpoint, { kind: 'tcp' }>['tls'];

/** ca.pem, cert.pem and key.pem of a folder, those that exist. */
function tlsFiles(dir: string | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!dir) return {};
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name)) : undefined);
  const ca = read('ca.pem');
  const cert = read('cert.pem');
  const key = read('key.pem');
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** An engine address (`unix://`, `npipe://`, `tcp://`, `http(s)://`) with the TLS settings that go with it. */
function parseHost(host: string, tls: (scheme: 'tcp' | 'https' | 'http') => Tls): EngineEndpoint {
  if (host.startsWith('unix://')) return { kind: 'unix', path: host.slice('unix://'.length), display: host };
  if (host.startsWith('npipe://')) {
    const p = host.slice('npipe://'.length).replace(/\//g, '\\');
    return { kind: 'npipe', path: p, display: host };
  }
  if (host.startsWith('tcp://') || host.startsWith('https://') || host.startsWith('http://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    const t = tls(host.startsWith('https://') ? 'https' : host.startsWith('http://') ? 'http' : 'tcp');
    return {
      kind: 'tcp',
      host: u.hostname,
      port: Number(u.port || (t ? 2376 : 2375)),
      tls: t,
      display: host,
    };
  }
  throw new PSRemotingError(`The engine address '${host}' is not a unix://, tcp:// or npipe:// address.`, {
    errorId: 'ContainerEngineAddressInvalid',
    category: 'InvalidArgument',
    targetObject: host,
    recommendedAction: 'Set DOCKER_HOST to the engine address, for example unix:///run/podman/podman.sock.',
  });
}

/**
 * The docker CLI's current context (DOCKER_CONTEXT, else `currentContext` in config.json under DOCKER_CONFIG or
 * ~/.docker): its engine address from contexts/meta/<sha256 of the name>/meta.json and its TLS files from
 * contexts/tls/<same>/docker. Undefined for no context or `default`. Docker Desktop selects its engine this way.
 */
function contextEndpoint(env: Readonly<Record<string, string | undefined>>): EngineEndpoint | undefined {
  const configDir = env.DOCKER_CONFIG || join(env.HOME ?? env.USERPROFILE ?? homedir(), '.docker');
  let name = env.DOCKER_CONTEXT?.trim();
  if (!name) {
    try {
      const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as {
        currentContext?: unknown;
      };
      if (typeof config.currentContext === 'string') name = config.currentContext;
    } catch {
      return undefined; // no readable config.json: no context
    }
  }
  if (!name || name === 'default') return undefined;
  const id = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let docker: { Host?: unknown; SkipTLSVerify?: unknown } | undefined;
  try {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { Endpoints?: { docker?: typeof docker } };
    docker = meta.Endpoints?.docker;
  } catch {
    docker = undefined;
  }
  if (!docker || typeof docker.Host !== 'string' || docker.Host === '') {
    throw new PSRemotingError(
      `The docker context '${name}' was not found (no engine address in ${metaPath}).`,
      {
        errorId: 'ContainerEngineContextNotFound',
        category: 'ObjectNotFound',
        targetObject: name,
        recommendedAction: `Check \`docker context ls\`, choose one with DOCKER_CONTEXT, or set DOCKER_HOST.`,
      },
    );
  }
  const files = tlsFiles(join(configDir, 'contexts', 'tls', id, 'docker'));
  const hasTls = Object.keys(files).length > 0;
  return parseHost(docker.Host, (scheme) =>
    hasTls || scheme === 'https' ? { verify: docker?.SkipTLSVerify !== true, ...files } : undefined,
  );
}

/**
 * The engine as the docker CLI finds it: DOCKER_HOST (`unix://`, `tcp://` with TLS from DOCKER_CERT_PATH and
 * DOCKER_TLS_VERIFY, `npipe://`), else the current docker context, else the platform's default socket:
 * /var/run/docker.sock, Docker Desktop's ~/.docker/run/docker.sock, podman's rootful or rootless socket;
 * `//./pipe/docker_engine` on Windows.
 */
export function resolveEndpoint(env: Readonly<Record<string, string | undefined>>): EngineEndpoint {
  const host = env.DOCKER_HOST?.trim();
  if (!host) {
    const fromContext = contextEndpoint(env);
    if (fromContext) return fromContext;
    if (process.platform === 'win32')
      return { kind: 'npipe', path: '\\\\.\\pipe\\docker_engine', display: 'npipe:////./pipe/docker_engine' };
    const candidates = ['/var/run/docker.sock', '/run/podman/podman.sock'];
    if (env.HOME) candidates.push(join(env.HOME, '.docker', 'run', 'docker.sock'));
    if (env.XDG_RUNTIME_DIR) candidates.push(join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
    const path = candidates.find((p) => existsSync(p)) ?? '/var/run/docker.sock';
    return { kind: 'unix', path, display: `unix://${path}` };
  }
  const verify =
    env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
  // As the docker CLI: with DOCKER_TLS_VERIFY and no DOCKER_CERT_PATH, the certificates are in ~/.docker.
  const certPath = env.DOCKER_CERT_PATH || (verify && env.HOME ? join(env.HOME, '.docker') : undefined);
  return parseHost(host, (scheme) =>
    verify || env.DOCKER_CERT_PATH || scheme === 'https' ? { verify, ...tlsFiles(certPath) } : undefined,
  );
}
