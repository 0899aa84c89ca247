import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gssapiAvailable } from '../../transport-winrm/src/auth/integrated-auth.ts';
import {
  endpointSkipReason,
  type StartedEndpoint,
  startWsmanEndpoint,
} from '../../transport-winrm/test/peer/endpoint.ts';
import {
  KDC_PASSWORD,
  KDC_USER,
  kdcSkipReason,
  REALM,
  type StartedKdc,
  startKdc,
} from '../../transport-winrm/test/peer/kdc.ts';
import { kerberosHost, kerberosHostSkipReason } from '../../transport-winrm/test/peer/kerberos-host.ts';

/**
 * `psremote invoke -ComputerName <this machine's name>` with Kerberos as a user types it: the test MIT KDC, the
 * endpoint accepting Kerberos through python3-gssapi on the loopback address the name resolves to, the CLI in its
 * own process with KRB5_CONFIG and KRB5CCNAME as a user has them.
 */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const host = await kerberosHost();
const skip =
  endpointSkipReason() ??
  kdcSkipReason(gssapiAvailable() ? undefined : 'no GSSAPI library') ??
  kerberosHostSkipReason(host);
const NAME = typeof host === 'string' ? '' : host.name;

describe.skipIf(skip !== undefined)('psremote invoke -ComputerName with Kerberos', () => {
  let kdc: StartedKdc;
  let ep: StartedEndpoint;
  let dir: string;

  beforeAll(async () => {
    kdc = await startKdc();
    kdc.addService(`HTTP/${NAME}`);
    dir = mkdtempSync(join(tmpdir(), 'psremote-cli-krb-'));
    ep = await startWsmanEndpoint({
      host: typeof host === 'string' ? '127.0.0.1' : host.address,
      auth: ['negotiate', 'kerberos'],
      env: kdc.serviceEnv,
    });
  }, 60_000);
  afterAll(async () => {
    await ep?.stop();
    await kdc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], ccache: string, input?: string) =>
    spawnSync(
      process.execPath,
      [BIN, 'invoke', '-ComputerName', NAME, '-Port', String(ep.port), ...args, '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', KRB5_CONFIG: kdc.krb5Config, KRB5CCNAME: ccache },
        timeout: 60_000,
        ...(input !== undefined ? { input } : {}),
      },
    );

  it('-Authentication Kerberos -Credential user@REALM --password-stdin: runs, writes no ticket cache', async () => {
    const ccache = join(dir, 'never');
    const r = run(
      [
        '-Authentication',
        'Kerberos',
        '-Credential',
        `${KDC_USER}@${REALM}`,
        '-Command',
        '6*7',
        '--password-stdin',
      ],
      `FILE:${ccache}`,
      `${KDC_PASSWORD}\n`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toBe(42);
    expect(existsSync(ccache)).toBe(false);
    // spawnSync held this event loop: the endpoint's lines are read now.
    const line = await ep.waitForEvent(/^AUTH \d+ Kerberos /);
    expect(line.replace(/^AUTH \d+ /, '')).toBe(
      `Kerberos psuser@PSREMOTE.TEST cbt=none target=HTTP/${NAME}@PSREMOTE.TEST mech=krb5`,
    );
  }, 90_000);

  it("no -Credential after kinit: the user's tickets (Negotiate -> Kerberos); without a ticket, PowerShell's error", async () => {
    const ccache = `FILE:${join(dir, 'cc')}`;
    kdc.kinit(ccache);
    const r = run(['-Command', '"tickets:" + (2+3)'], ccache);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toBe('tickets:5');
    expect(await ep.waitForEvent(/^AUTH \d+ Negotiate /)).toMatch(
      /^AUTH \d+ Negotiate psuser@PSREMOTE\.TEST cbt=none target=HTTP\/.+ mech=krb5$/,
    );

    const none = run(['-Command', '1'], `FILE:${join(dir, 'empty')}`);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(
      `Connecting to remote server ${NAME} failed with the following error message`,
    );
    expect(none.stderr).toContain('0x8009030e');
    expect(none.stderr).toContain(
      'FullyQualifiedErrorId : CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(none.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);
});
