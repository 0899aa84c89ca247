import { existsSync, readFileSync } from 'node:fs';
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

/**
 * DOCKER_HOST as the docker CLI reads it (`unix://`, `tcp://`, `npipe://`), else the platform's default socket:
 * /var/run/docker.sock, or podman's rootful socket when only that exists; `//./pipe/docker_engine` on Windows.
 */
export function resolveEndpoint(env: Readonly<Record<string, string | undefined>>): EngineEndpoint {
  const host = env.DOCKER_HOST?.trim();
  if (!host) {
    if (process.platform === 'win32')
      return { kind: 'npipe', path: '\\\\.\\pipe\\docker_engine', display: 'npipe:////./pipe/docker_engine' };
    const candidates = ['/var/run/docker.sock', '/run/podman/podman.sock'];
    if (env.XDG_RUNTIME_DIR) candidates.push(join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
    const path = candidates.find((p) => existsSync(p)) ?? '/var/run/docker.sock';
    return { kind: 'unix', path, display: `unix://${path}` };
  }
  if (host.startsWith('unix://')) return { kind: 'unix', path: host.slice('unix://'.length), display: host };
  if (host.startsWith('npipe://')) {
    const p = host.slice('npipe://'.length).replace(/\//g, '\\');
    return { kind: 'npipe', path: p, display: host };
  }
  if (host.startsWith('tcp://') || host.startsWith('https://') || host.startsWith('http://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    const verify =
      env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
    // As the docker CLI: with DOCKER_TLS_VERIFY and no DOCKER_CERT_PATH, the certificates are in ~/.docker.
    const certPath = env.DOCKER_CERT_PATH || (verify && env.HOME ? join(env.HOME, '.docker') : undefined);
    const tls =
      verify || env.DOCKER_CERT_PATH || host.startsWith('https://')
        ? {
            verify,
            ...(certPath && existsSync(join(certPath, 'ca.pem'))
              ? { ca: readFileSync(join(certPath, 'ca.pem')) }
              : {}),
            ...(certPath && existsSync(join(certPath, 'cert.pem'))
              ? { cert: readFileSync(join(certPath, 'cert.pem')) }
              : {}),
            ...(certPath && existsSync(join(certPath, 'key.pem'))
              ? { key: readFileSync(join(certPath, 'key.pem')) }
              : {}),
          }
        : undefined;
    return { kind: 'tcp', host: u.hostname, port: Number(u.port || (tls ? 2376 : 2375)), tls, display: host };
  }
  throw new PSRemotingError(`DOCKER_HOST '${host}' is not a unix://, tcp:// or npipe:// address.`, {
    errorId: 'ContainerEngineAddressInvalid',
    category: 'InvalidArgument',
    targetObject: host,
    recommendedAction: 'Set DOCKER_HOST to the engine address, for example unix:///run/podman/podman.sock.',
  });
}
