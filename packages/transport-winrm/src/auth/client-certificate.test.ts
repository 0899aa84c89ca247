import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientCertificateError,
  certificateDirectory,
  findClientCertificate,
  loadClientCertificate,
  normalizeThumbprint,
} from './client-certificate.ts';

/** test/fixtures/client-certs: test-only certificates of a CA whose key was thrown away (README there). */
const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'client-certs');
const PSUSER = 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C';
const NOBODY = '0F0151719EF9411B6C030C52C69B1F203E19BA5E';
const LOCKED = 'DF00908B24C1D149D5EA23F27948FB1FCF83D0F7';

let dir: string;
const env = () => ({ PSREMOTE_CERT_DIR: dir });

function copy(name: string, mode = 0o600, as = name): void {
  copyFileSync(join(FIXTURES, name), join(dir, as));
  chmodSync(join(dir, as), mode);
}

function failure(f: () => unknown): ClientCertificateError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ClientCertificateError);
    return e as ClientCertificateError;
  }
  throw new Error('expected a ClientCertificateError');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'psremote-certs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('normalizeThumbprint', () => {
  it('accepts any case, spaces and the marks the Windows certificate dialog copies along', () => {
    expect(normalizeThumbprint(PSUSER.toLowerCase())).toBe(PSUSER);
    expect(normalizeThumbprint(`\u200e${PSUSER.match(/../g)?.join(' ')} `)).toBe(PSUSER);
  });

  it.each(['AB12', `${PSUSER}00`, `${PSUSER.slice(0, 39)}G`, 'CA:2C:4B', ''])('refuses %j', (t) => {
    const e = failure(() => normalizeThumbprint(t));
    expect(e.failure).toBe('BadThumbprint');
    expect(e.message).toContain('40 hexadecimal digits');
  });
});

describe('certificateDirectory', () => {
  it('PSREMOTE_CERT_DIR, else XDG_CONFIG_HOME/psremote/certs, else ~/.config/psremote/certs', () => {
    expect(certificateDirectory({ PSREMOTE_CERT_DIR: '/x', XDG_CONFIG_HOME: '/y', HOME: '/h' })).toBe('/x');
    expect(certificateDirectory({ XDG_CONFIG_HOME: '/y', HOME: '/h' })).toBe('/y/psremote/certs');
    expect(certificateDirectory({ HOME: '/h' })).toBe('/h/.config/psremote/certs');
  });
});

describe('findClientCertificate', () => {
  it('finds a certificate with its key in the same file', () => {
    copy('ca.pem', 0o644);
    copy('psuser.pem');
    const f = findClientCertificate(PSUSER.toLowerCase(), { env: env() });
    expect(f).toEqual({
      thumbprint: PSUSER,
      certFile: join(dir, 'psuser.pem'),
      keyFile: join(dir, 'psuser.pem'),
      subject: 'CN=psuser',
      encrypted: false,
      directory: dir,
    });
  });

  it('pairs a certificate with the .key file of the same name; the certificate file may be world-readable', () => {
    copy('nobody.pem', 0o644);
    copy('nobody.key');
    const f = findClientCertificate(NOBODY, { env: env() });
    expect(f.certFile).toBe(join(dir, 'nobody.pem'));
    expect(f.keyFile).toBe(join(dir, 'nobody.key'));
  });

  it('also reads *.crt and *.cer, and skips other files', () => {
    copy('nobody.pem', 0o644, 'nobody.crt');
    copy('nobody.key');
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
    expect(findClientCertificate(NOBODY, { env: env() }).certFile).toBe(join(dir, 'nobody.crt'));
  });

  it('not found: names the directory and how many certificates it looked at', () => {
    copy('ca.pem', 0o644);
    copy('nobody.pem');
    copy('nobody.key');
    const e = failure(() => findClientCertificate(PSUSER, { env: env() }));
    expect(e.failure).toBe('NotFound');
    expect(e.message).toBe(
      `No certificate with thumbprint ${PSUSER} was found in ${dir} (2 certificates in its *.pem, *.crt and *.cer files). Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
    );
  });

  it('a directory that does not exist: says so', () => {
    const e = failure(() =>
      findClientCertificate(PSUSER, { env: { PSREMOTE_CERT_DIR: join(dir, 'missing') } }),
    );
    expect(e.failure).toBe('NotFound');
    expect(e.message).toContain(`the certificate directory ${join(dir, 'missing')} does not exist`);
  });

  it('a certificate without a key: NoPrivateKey naming the file it expected', () => {
    copy('nobody.pem');
    const e = failure(() => findClientCertificate(NOBODY, { env: env() }));
    expect(e.failure).toBe('NoPrivateKey');
    expect(e.message).toContain(join(dir, 'nobody.key'));
  });

  it.each([0o644, 0o640, 0o604, 0o660])('a key file with mode %o is refused as ssh refuses it', (mode) => {
    copy('psuser.pem', mode);
    const e = failure(() => findClientCertificate(PSUSER, { env: env() }));
    expect(e.failure).toBe('KeyPermissions');
    expect(e.message).toBe(
      `Permissions 0${mode.toString(8)} for the private key file ${join(dir, 'psuser.pem')} are too open: it must not be accessible by others. Run: chmod 600 '${join(dir, 'psuser.pem')}'`,
    );
  });

  it('an encrypted key is found and marked encrypted', () => {
    copy('locked.pem', 0o644);
    copy('locked.key');
    expect(findClientCertificate(LOCKED, { env: env() }).encrypted).toBe(true);
  });

  it('on Windows: not implemented yet, said clearly, whatever the directory holds', () => {
    copy('psuser.pem');
    const e = failure(() => findClientCertificate(PSUSER, { env: env(), platform: 'win32' }));
    expect(e.failure).toBe('NotImplementedOnWindows');
    expect(e.message).toContain('Cert:\\CurrentUser\\My');
    expect(e.message).toContain('cannot read yet');
  });
});

describe('loadClientCertificate', () => {
  it('loads a plain key without asking anything', async () => {
    copy('psuser.pem');
    let asked = 0;
    const c = await loadClientCertificate(findClientCertificate(PSUSER, { env: env() }), async () => {
      asked++;
      return '';
    });
    expect(asked).toBe(0);
    expect(c.key.asymmetricKeyType).toBe('ec');
    expect(c.certPem).toContain('BEGIN CERTIFICATE');
    expect(c.certPem).not.toContain('PRIVATE KEY');
  });

  it('an encrypted key: asks once for the passphrase; a wrong one is refused', async () => {
    copy('locked.pem');
    copy('locked.key');
    const f = findClientCertificate(LOCKED, { env: env() });
    let asked = 0;
    const c = await loadClientCertificate(f, async () => {
      asked++;
      return 'fixture-passphrase';
    });
    expect(asked).toBe(1);
    expect(c.key.type).toBe('private');
    await expect(loadClientCertificate(f, async () => 'wrong')).rejects.toMatchObject({
      failure: 'WrongPassphrase',
      message: `The passphrase for the private key in ${join(dir, 'locked.key')} is wrong.`,
    });
  });

  it('an encrypted key and nobody to ask: PassphraseUnavailable', async () => {
    copy('locked.pem');
    copy('locked.key');
    await expect(
      loadClientCertificate(findClientCertificate(LOCKED, { env: env() }), undefined),
    ).rejects.toMatchObject({ failure: 'PassphraseUnavailable' });
  });

  it("a key that is another certificate's: KeyMismatch", async () => {
    copy('nobody.pem');
    copyFileSync(join(FIXTURES, 'psuser.pem'), join(dir, 'nobody.key'));
    chmodSync(join(dir, 'nobody.key'), 0o600);
    await expect(
      loadClientCertificate(findClientCertificate(NOBODY, { env: env() }), undefined),
    ).rejects.toMatchObject({ failure: 'KeyMismatch' });
  });
});
