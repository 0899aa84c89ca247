import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  endpointSkipReason,
  type StartedEndpoint,
  startWsmanEndpoint,
} from '../../transport-winrm/test/peer/endpoint.ts';
import { PtySession } from './pty/harness.ts';

/**
 * `psremote invoke -ComputerName ... -UseSSL -CertificateThumbprint X` as a user types it, against the WSMan test
 * endpoint with client certificates mapped (transport-winrm/test/peer/client_cert.py). The endpoint's self-signed
 * server certificate is trusted through NODE_EXTRA_CA_CERTS, as a user would add a private CA.
 */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../transport-winrm/test/fixtures/client-certs/', import.meta.url));
const PSUSER = 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C';
const LOCKED = 'DF00908B24C1D149D5EA23F27948FB1FCF83D0F7';
const skip = endpointSkipReason();

describe.skipIf(skip)('psremote invoke -CertificateThumbprint over HTTPS', () => {
  let ep: StartedEndpoint;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const ca = join(FIXTURES, 'ca.pem');
    const caThumbprint = new X509Certificate(readFileSync(ca)).fingerprint.replace(/:/g, '');
    ep = await startWsmanEndpoint({
      httpsOnly: true,
      clientCertificates: { caFile: ca, map: [`*@psremote.test ${caThumbprint} psuser`] },
    });
    dir = mkdtempSync(join(tmpdir(), 'psremote-cli-certs-'));
    for (const [name, mode] of [
      ['psuser.pem', 0o600],
      ['locked.pem', 0o644],
      ['locked.key', 0o600],
    ] as const) {
      copyFileSync(join(FIXTURES, name), join(dir, name));
      chmodSync(join(dir, name), mode);
    }
    writeFileSync(join(dir, 'server-ca.crt.txt'), ep.caPem ?? '');
    env = {
      ...process.env,
      NO_COLOR: '1',
      PSREMOTE_CERT_DIR: dir,
      NODE_EXTRA_CA_CERTS: join(dir, 'server-ca.crt.txt'),
    };
  }, 60_000);
  afterAll(async () => {
    await ep?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const args = () => [
    BIN,
    'invoke',
    '-ComputerName',
    '127.0.0.1',
    '-Port',
    String(ep.httpsPort),
    '-UseSSL',
    '-CertificateThumbprint',
    PSUSER.toLowerCase(),
  ];

  it('runs the command with the certificate; --dry-run names the thumbprint and the file', async () => {
    const r = spawnSync(process.execPath, [...args(), '-Command', '6*7', '--json'], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toBe(42);
    // spawnSync held this event loop: the endpoint's lines are read now.
    expect(await ep.waitForEvent(/^AUTH \d+ Certificate psuser /)).toContain(`thumbprint=${PSUSER}`);

    const dry = spawnSync(process.execPath, [...args(), '-Command', '1', '--dry-run'], {
      encoding: 'utf8',
      env,
    });
    expect(dry.status).toBe(0);
    expect(JSON.parse(dry.stdout).target).toMatchObject({
      authentication: 'ClientCertificate',
      certificateThumbprint: PSUSER,
      certificateFile: join(dir, 'psuser.pem'),
      certificateKeyFile: join(dir, 'psuser.pem'),
    });
    expect(dry.stdout).not.toContain('PRIVATE KEY');
    // An encrypted key: --dry-run names it encrypted and asks nothing (the key is read only at connect).
    const locked = [...args()];
    locked[locked.length - 1] = LOCKED;
    const dryLocked = spawnSync(process.execPath, [...locked, '-Command', '1', '--dry-run'], {
      encoding: 'utf8',
      env,
      input: '',
    });
    expect(dryLocked.status).toBe(0);
    expect(dryLocked.stderr).toBe('');
    expect(JSON.parse(dryLocked.stdout).target).toMatchObject({
      certificateThumbprint: LOCKED,
      certificateKeyFile: join(dir, 'locked.key'),
      certificateKeyEncrypted: true,
    });
    expect(dryLocked.stdout).not.toMatch(/PRIVATE KEY|passphrase/i);
  }, 90_000);

  it('a thumbprint that is not there: the error view names the directory, exit 1', () => {
    const bad = [...args()];
    bad[bad.length - 1] = 'ab'.repeat(20);
    const r = spawnSync(process.execPath, [...bad, '-Command', '1'], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`No certificate with thumbprint ${'AB'.repeat(20)} was found in ${dir}`);
    expect(r.stderr).toContain(
      'FullyQualifiedErrorId : CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  let pty: PtySession | undefined;
  afterEach(() => pty?.kill());

  it('psremote enter with an encrypted key: the passphrase is asked for, masked, then the prompt', async () => {
    pty = new PtySession(
      process.execPath,
      [
        BIN,
        'enter',
        '-ComputerName',
        '127.0.0.1',
        '-Port',
        String(ep.httpsPort),
        '-UseSSL',
        '-CertificateThumbprint',
        LOCKED,
      ],
      { env },
    );
    await pty.waitFor(/Enter the passphrase for the private key in .*locked\.key: $/m, 30_000);
    pty.type('fixture-passphrase\r');
    const screen = await pty.waitFor(/\[127\.0\.0\.1\]: PS [^\n]*> $/m, 60_000);
    expect(screen).not.toContain('fixture-passphrase');
    pty.type('"in:" + (20+1)\r');
    await pty.waitFor(/^in:21$/m, 30_000);
    pty.type('exit\r');
    expect((await pty.exited).exitCode).toBe(0);
  }, 120_000);
});
