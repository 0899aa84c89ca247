import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { isPSRemotingError, openSession, type PSSession, RecordingHostUi } from '@psremote/core';
import { transportConformanceChecks } from '@psremote/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { containerTransport } from '../src/container-transport.ts';
import { podmanEnv, STOPPED, WITH_PWSH, WITHOUT_PWSH } from './container-peer.ts';

const execFileAsync = promisify(execFile);
const socket = inject('containerSocket');
const fullId = inject('containerWithPwshId');
const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };

async function open(
  args: Record<string, string | boolean>,
  e: Record<string, string | undefined> = env,
): Promise<PSSession> {
  return openSession({
    transport: containerTransport,
    bound: { parameterSet: 'ContainerId', bound: args },
    hostUi: new RecordingHostUi(),
    env: e,
  });
}

async function openError(
  args: Record<string, string | boolean>,
  e: Record<string, string | undefined> = env,
) {
  const err = await open(args, e).then(
    (s) => {
      void s.close();
      return undefined;
    },
    (x: unknown) => x,
  );
  if (!isPSRemotingError(err)) throw new Error(`expected a PSRemotingError, got ${String(err)}`);
  return err;
}

describe.skipIf(!socket)('ContainerId sessions through a real podman engine', () => {
  let session: PSSession;
  beforeAll(async () => {
    session = await open({ ContainerId: WITH_PWSH });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('enters by name; whoami is the image user without -RunAsAdministrator', async () => {
    const r = await session.invoke('whoami').result();
    expect(r.output).toEqual(['ctuser']);
    expect(session.target.prompt).toEqual({
      kind: 'remote-function',
      label: WITH_PWSH.slice(0, 14) + '\u2026',
    });
  });

  it('enters by id prefix; -RunAsAdministrator runs as root', async () => {
    const s = await open({ ContainerId: fullId.slice(0, 12), RunAsAdministrator: true });
    try {
      expect((await s.invoke('whoami').result()).output).toEqual(['root']);
    } finally {
      await s.close();
    }
  });

  it('a stopped container: InvalidContainerId saying it is not running', async () => {
    const e = await openError({ ContainerId: STOPPED });
    expect(e.errorId).toBe('InvalidContainerId');
    expect(e.message).toMatch(/not running/);
  });

  it('a container without pwsh: ContainerPowerShellNotFound', async () => {
    const e = await openError({ ContainerId: WITHOUT_PWSH });
    expect(e.errorId).toBe('ContainerPowerShellNotFound');
  });

  it('an unknown id: InvalidContainerId', async () => {
    const e = await openError({ ContainerId: 'no-such-container-xyz' });
    expect(e.errorId).toBe('InvalidContainerId');
    expect(e.message).toMatch(/does not exist/);
  });

  it('the engine socket missing: ContainerEngineUnavailable naming DOCKER_HOST', async () => {
    const e = await openError(
      { ContainerId: WITH_PWSH },
      { ...process.env, DOCKER_HOST: 'unix:///nonexistent/engine.sock' },
    );
    expect(e.errorId).toBe('ContainerEngineUnavailable');
    expect(e.message).toMatch(/DOCKER_HOST/);
  });
});

describe.skipIf(!socket)('the transport conformance kit (@psremote/core/testing) in a real container', () => {
  const checks = transportConformanceChecks({
    open: () => open({ ContainerId: WITH_PWSH }),
    kills: {
      // The exec's pwsh, from inside the container (its $PID is in the container's PID namespace). `podman exec`
      // takes 0.3 s to start and clean up here, 0.5-1.2 s on a loaded 2-core machine, so the clock starts at the kill
      // itself: the container's `date` just before `kill` (the container shares the host's wall clock), taken to
      // this process's performance clock. Asynchronous, so this process notices the end while podman cleans up.
      'the pwsh of the exec is killed': async (_s, pid) => {
        const { stdout } = await execFileAsync(
          'podman',
          ['exec', WITH_PWSH, '/bin/sh', '-c', `date +%s%N && kill -9 ${pid}`],
          { env: podmanEnv(), encoding: 'utf8' },
        );
        const wallMs = Number(BigInt(stdout.trim()) / 1000n) / 1000;
        return wallMs - performance.timeOrigin;
      },
    },
  });
  for (const c of checks) it(c.name, c.run, 60_000);
});

/** A self-signed CA certificate and its key (openssl), for the TLS endpoint tests. */
function selfSignedCa(keyPath: string, certPath: string, name: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'pipe' },
  );
}

/**
 * DOCKER_HOST=tcp:// with TLS, as a remote engine is reached: a TLS server that asks for a client certificate
 * (as dockerd --tlsverify does) in front of podman's socket, with a CA, server and client certificates made by
 * openssl for the test.
 */
describe.skipIf(!socket)(
  'a TLS engine endpoint (DOCKER_HOST=tcp://, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)',
  () => {
    let dir: string;
    let server: TlsServer;
    let port: number;
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'psremote-docker-tls-'));
      selfSignedCa(join(dir, 'ca-key.pem'), join(dir, 'ca.pem'), 'psremote test CA');
      const issue = (name: string, ext: string) => {
        ssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${name}-key.pem`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${name}`,
        );
        writeFileSync(join(dir, `${name}.ext`), ext);
        ssl(
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca-key.pem',
          '-CAcreateserial',
          '-out',
          `${name}.pem`,
          '-days',
          '2',
          '-extfile',
          `${name}.ext`,
        );
      };
      issue('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
      issue('client', 'extendedKeyUsage=clientAuth\n');
      // DOCKER_CERT_PATH layouts: the good one, and one without the client certificate.
      for (const [sub, files] of [
        ['good', { 'ca.pem': 'ca.pem', 'cert.pem': 'client.pem', 'key.pem': 'client-key.pem' }],
        ['nocert', { 'ca.pem': 'ca.pem' }],
      ] as const) {
        mkdirSync(join(dir, sub));
        for (const [to, from] of Object.entries(files)) copyFileSync(join(dir, from), join(dir, sub, to));
      }
      server = createTlsServer(
        {
          key: readFileSync(join(dir, 'server-key.pem')),
          cert: readFileSync(join(dir, 'server.pem')),
          ca: readFileSync(join(dir, 'ca.pem')),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (tls) => {
          const engine = netConnect(socket);
          tls.pipe(engine).pipe(tls);
          tls.on('error', () => engine.destroy());
          engine.on('error', () => tls.destroy());
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => {
      server?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const tlsEnv = (certs: string) => ({
      ...process.env,
      DOCKER_HOST: `tcp://127.0.0.1:${port}`,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: join(dir, certs),
    });

    it('enters the container over TLS with the client certificate; output over 1 MB crosses it', async () => {
      const s = await open({ ContainerId: WITH_PWSH }, tlsEnv('good'));
      try {
        expect((await s.invoke('whoami').result()).output).toEqual(['ctuser']);
        const r = await s.invoke("'z' * 1100000").result();
        expect((r.output[0] as string).length).toBe(1_100_000);
      } finally {
        await s.close();
      }
    });

    it('without the client certificate the engine refuses: ContainerEngineTlsFailed, naming DOCKER_CERT_PATH', async () => {
      const e = await openError({ ContainerId: WITH_PWSH }, tlsEnv('nocert'));
      expect(e.errorId).toBe('ContainerEngineTlsFailed');
      expect(e.category).toBe('SecurityError');
      expect(e.recommendedAction).toContain('DOCKER_CERT_PATH');
    });

    it('an engine certificate from another CA is refused when verifying', async () => {
      const other = join(dir, 'otherca');
      mkdirSync(other);
      selfSignedCa(join(other, 'k.pem'), join(other, 'ca.pem'), 'other');
      copyFileSync(join(dir, 'good', 'cert.pem'), join(other, 'cert.pem'));
      copyFileSync(join(dir, 'good', 'key.pem'), join(other, 'key.pem'));
      const e = await openError({ ContainerId: WITH_PWSH }, tlsEnv('otherca'));
      expect(e.errorId).toBe('ContainerEngineTlsFailed');
      expect(e.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    });
  },
);
