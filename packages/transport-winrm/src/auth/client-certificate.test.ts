import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientCertificateError,
  certificateDirectory,
  findClientCertificate,
  LOOKUP_LIMITS,
  loadClientCertificate,
  normalizeThumbprint,
} from './client-certificate.ts';
import { tlv } from './der.ts';
import { certificateFailure } from './testing-fixtures/certificate-failure.ts';

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

const failure = certificateFailure;

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

  it('the same certificate in a file without its key and in one with it: the one with the key', () => {
    copy('psuser.pem', 0o600, 'me.pem');
    const pem = readFileSync(join(FIXTURES, 'psuser.pem'), 'utf8');
    // me.crt (the certificate alone, as a CA hands it out) sorts before me.pem.
    writeFileSync(
      join(dir, 'me.crt'),
      pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'), pem.indexOf('-----END CERTIFICATE-----') + 25),
    );
    expect(findClientCertificate(PSUSER, { env: env() }).keyFile).toBe(join(dir, 'me.pem'));
    // Without me.pem, the certificate's missing key is the answer, naming the file expected.
    rmSync(join(dir, 'me.pem'));
    const e = failure(() => findClientCertificate(PSUSER, { env: env() }));
    expect(e.failure).toBe('NoPrivateKey');
    expect(e.message).toContain(join(dir, 'me.key'));
  });

  it("a DER .cer (Export-Certificate's default) with its .key: found and loaded", async () => {
    const der = new X509Certificate(readFileSync(join(FIXTURES, 'nobody.pem'))).raw;
    writeFileSync(join(dir, 'nobody.cer'), der);
    copy('nobody.key');
    const f = findClientCertificate(NOBODY, { env: env() });
    expect(f).toMatchObject({ certFile: join(dir, 'nobody.cer'), keyFile: join(dir, 'nobody.key') });
    const c = await loadClientCertificate(f, undefined);
    expect(new X509Certificate(c.certPem).raw.equals(der)).toBe(true);
    expect(c.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----$/);
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

  it('on Windows with PSREMOTE_CERT_DIR: the directory, as on Unix (the store otherwise: certstore/cert-store.test.ts)', () => {
    copy('psuser.pem');
    const f = findClientCertificate(PSUSER, { env: env(), platform: 'win32' });
    expect(f.certFile).toBe(join(dir, 'psuser.pem'));
    expect(f.store).toBeUndefined();
    // Without it: the store, which cannot be read off Windows, said so (never the directory silently).
    const e = failure(() => findClientCertificate(PSUSER, { env: { HOME: dir }, platform: 'win32' }));
    expect(e.failure).toBe('StoreUnavailable');
    expect(e.message).toContain('Cert:\\CurrentUser\\My');
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

const unix = process.platform !== 'win32';
const root = process.getuid?.() === 0;

/** Hostile directories: every case ends quickly with a clear answer, never a hang or an unbounded read. */
describe('findClientCertificate on a hostile directory', () => {
  function fast<T>(f: () => T, ms = 2000): T {
    const t = Date.now();
    try {
      return f();
    } finally {
      expect(Date.now() - t).toBeLessThan(ms);
    }
  }

  it.skipIf(!unix)(
    'FIFOs, /dev/zero, link loops, dangling links, a huge file, a directory named .pem: passed over, counted',
    () => {
      execFileSync('mkfifo', [join(dir, 'a-fifo.pem')]);
      symlinkSync('/dev/zero', join(dir, 'b-zero.crt'));
      symlinkSync(join(dir, 'c-loop2.pem'), join(dir, 'c-loop1.pem'));
      symlinkSync(join(dir, 'c-loop1.pem'), join(dir, 'c-loop2.pem'));
      symlinkSync(join(dir, 'nowhere'), join(dir, 'd-dangling.cer'));
      writeFileSync(join(dir, 'e-huge.pem'), '');
      truncateSync(join(dir, 'e-huge.pem'), 8 * 1024 ** 3);
      mkdirSync(join(dir, 'f-dir.pem'));
      copy('psuser.pem', 0o600, 'z-psuser.pem');
      // The certificate after all of them is still found.
      expect(fast(() => findClientCertificate(PSUSER, { env: env() })).certFile).toBe(
        join(dir, 'z-psuser.pem'),
      );
      const e = failure(() => fast(() => findClientCertificate(NOBODY, { env: env() })));
      expect(e.failure).toBe('NotFound');
      expect(e.message).toBe(
        `No certificate with thumbprint ${NOBODY} was found in ${dir} (1 certificate in its *.pem, *.crt and *.cer files; 7 files there could not be read or parsed). Put the certificate and its key there as PEM files, or set PSREMOTE_CERT_DIR.`,
      );
    },
  );

  it.skipIf(!unix)('a .key file that is a FIFO or /dev/zero: refused at once, saying what it is', () => {
    copy('nobody.pem', 0o644);
    execFileSync('mkfifo', [join(dir, 'nobody.key')]);
    const e = failure(() => fast(() => findClientCertificate(NOBODY, { env: env() })));
    expect(e.failure).toBe('KeyUnreadable');
    expect(e.message).toBe(
      `The private key file ${join(dir, 'nobody.key')} of the certificate with thumbprint ${NOBODY} cannot be used: it is not a regular file (fifo).`,
    );
    unlinkSync(join(dir, 'nobody.key'));
    symlinkSync('/dev/zero', join(dir, 'nobody.key'));
    expect(failure(() => fast(() => findClientCertificate(NOBODY, { env: env() }))).message).toContain(
      'it is not a regular file (device)',
    );
  });

  it.skipIf(!unix)('PSREMOTE_CERT_DIR naming a FIFO or a file: "cannot be read (ENOTDIR)", no block', () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    writeFileSync(join(dir, 'file'), 'x');
    for (const name of ['fifo', 'file']) {
      const e = failure(() =>
        fast(() => findClientCertificate(PSUSER, { env: { PSREMOTE_CERT_DIR: join(dir, name) } })),
      );
      expect(e.failure).toBe('NotFound');
      expect(e.message).toContain(`the certificate directory ${join(dir, name)} cannot be read (ENOTDIR)`);
    }
  });

  it('a megabyte of BEGIN lines without an END, in each of many files: linear, not minutes', () => {
    const line = '-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n';
    const text = line.repeat(Math.floor((1024 * 1024 - 100) / line.length));
    for (let i = 0; i < 8; i++) writeFileSync(join(dir, `bomb${i}.pem`), text);
    const e = failure(() => fast(() => findClientCertificate(PSUSER, { env: env() }), 3000));
    expect(e.failure).toBe('NotFound');
    expect(e.message).toContain('(0 certificates in its');
  });

  it('garbage inside a CERTIFICATE block: counted as not parsed, the search goes on', () => {
    writeFileSync(
      join(dir, 'a.pem'),
      '-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n',
    );
    writeFileSync(join(dir, 'b.pem'), Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]));
    copy('psuser.pem');
    expect(findClientCertificate(PSUSER, { env: env() }).certFile).toBe(join(dir, 'psuser.pem'));
    const e = failure(() => findClientCertificate(NOBODY, { env: env() }));
    expect(e.message).toContain(
      '(1 certificate in its *.pem, *.crt and *.cer files; 1 file there could not be read or parsed)',
    );
  });

  it(`more than ${LOOKUP_LIMITS.files} certificate files: refused as too large, quickly`, () => {
    for (let i = 0; i <= LOOKUP_LIMITS.files; i++) writeFileSync(join(dir, `c${i}.pem`), '');
    const e = failure(() => fast(() => findClientCertificate(PSUSER, { env: env() })));
    expect(e.failure).toBe('DirectoryTooLarge');
    expect(e.message).toBe(
      `The certificate directory ${dir} holds more than ${LOOKUP_LIMITS.files} *.pem, *.crt and *.cer files; psremote does not search further. Keep only your client certificates and their keys there, or point PSREMOTE_CERT_DIR at a directory that holds only those.`,
    );
  });

  it(`more than ${LOOKUP_LIMITS.entries} entries of any kind: refused without reading them all`, () => {
    for (let i = 0; i <= LOOKUP_LIMITS.entries; i++) writeFileSync(join(dir, `n${i}`), '');
    const e = failure(() => fast(() => findClientCertificate(PSUSER, { env: env() })));
    expect(e.failure).toBe('DirectoryTooLarge');
    expect(e.message).toContain(`holds more than ${LOOKUP_LIMITS.entries} entries`);
  });

  it(`more than ${LOOKUP_LIMITS.bytes / 1024 ** 2} MiB of certificate files: refused`, () => {
    const mib = 'x'.repeat(1024 * 1024 - 1);
    for (let i = 0; i <= LOOKUP_LIMITS.bytes / 1024 ** 2; i++) writeFileSync(join(dir, `m${i}.pem`), mib);
    const e = failure(() => fast(() => findClientCertificate(PSUSER, { env: env() }), 5000));
    expect(e.failure).toBe('DirectoryTooLarge');
    expect(e.message).toContain(
      `holds more than ${LOOKUP_LIMITS.bytes / 1024 ** 2} MiB of *.pem, *.crt and *.cer files`,
    );
  });

  it('a file with more than 16 certificates: ChainTooLong for the certificate it holds', () => {
    const pem = readFileSync(join(FIXTURES, 'psuser.pem'), 'utf8');
    const cert = pem.slice(
      pem.indexOf('-----BEGIN CERTIFICATE-----'),
      pem.indexOf('-----END CERTIFICATE-----') + 25,
    );
    writeFileSync(join(dir, 'bundle.pem'), `${pem}\n${`${cert}\n`.repeat(16)}`, { mode: 0o600 });
    const e = failure(() => findClientCertificate(PSUSER, { env: env() }));
    expect(e.failure).toBe('ChainTooLong');
    expect(e.message).toContain(`${join(dir, 'bundle.pem')} holds more than 16 certificates`);
  });

  it.skipIf(!unix || !root)('a key file another user owns (0600 or not): refused, naming the owner', () => {
    copy('psuser.pem');
    chownSync(join(dir, 'psuser.pem'), 1001, 1001);
    const e = failure(() => findClientCertificate(PSUSER, { env: env() }));
    expect(e.failure).toBe('KeyPermissions');
    expect(e.message).toBe(
      `The private key file ${join(dir, 'psuser.pem')} belongs to another user (uid 1001); psremote uses only keys that you own.`,
    );
  });

  it.skipIf(!unix)(
    "a key reached through a symbolic link: the file checked is the target (its mode, not the link's)",
    () => {
      copy('nobody.pem', 0o644);
      copy('nobody.key', 0o644, 'real.key');
      symlinkSync(join(dir, 'real.key'), join(dir, 'nobody.key'));
      expect(failure(() => findClientCertificate(NOBODY, { env: env() })).failure).toBe('KeyPermissions');
      chmodSync(join(dir, 'real.key'), 0o600);
      expect(findClientCertificate(NOBODY, { env: env() }).keyFile).toBe(join(dir, 'nobody.key'));
    },
  );

  it.skipIf(!unix || root)(
    'an unreadable certificate file is passed over and counted (root reads everything)',
    () => {
      copy('nobody.pem', 0o000);
      const e = failure(() => findClientCertificate(NOBODY, { env: env() }));
      expect(e.message).toContain('1 file there could not be read or parsed');
    },
  );
});

describe('loadClientCertificate when the files changed after the lookup', () => {
  it.skipIf(!unix)('the key file made group-readable: refused at connect too', async () => {
    copy('nobody.pem', 0o644);
    copy('nobody.key');
    const f = findClientCertificate(NOBODY, { env: env() });
    chmodSync(join(dir, 'nobody.key'), 0o640);
    await expect(loadClientCertificate(f, undefined)).rejects.toMatchObject({ failure: 'KeyPermissions' });
  });

  it.skipIf(!unix)('the key file swapped for a FIFO: refused at once, no hang', async () => {
    copy('nobody.pem', 0o644);
    copy('nobody.key');
    const f = findClientCertificate(NOBODY, { env: env() });
    unlinkSync(join(dir, 'nobody.key'));
    execFileSync('mkfifo', [join(dir, 'nobody.key')]);
    await expect(loadClientCertificate(f, undefined)).rejects.toMatchObject({
      failure: 'KeyUnreadable',
      message: expect.stringContaining('it is not a regular file (fifo)'),
    });
  });

  it('the certificate file now holds another certificate: CertificateChanged, no key read', async () => {
    copy('psuser.pem');
    const f = findClientCertificate(PSUSER, { env: env() });
    copy('nobody.pem', 0o600, 'other.pem');
    renameSync(join(dir, 'other.pem'), join(dir, 'psuser.pem'));
    await expect(loadClientCertificate(f, undefined)).rejects.toMatchObject({
      failure: 'CertificateChanged',
      message: `The certificate file ${join(dir, 'psuser.pem')} no longer holds the certificate with thumbprint ${PSUSER}.`,
    });
  });

  it('the key became encrypted after the lookup: asked for, as the key now is', async () => {
    copy('locked.pem');
    copyFileSync(join(FIXTURES, 'psuser.pem'), join(dir, 'locked.key'));
    chmodSync(join(dir, 'locked.key'), 0o600);
    // Found with a plain (wrong) key, so not marked encrypted...
    const f = findClientCertificate(LOCKED, { env: env() });
    expect(f.encrypted).toBe(false);
    copy('locked.key');
    let asked = 0;
    const c = await loadClientCertificate(f, async () => {
      asked++;
      return 'fixture-passphrase';
    });
    expect(asked).toBe(1);
    expect(c.key.type).toBe('private');
  });

  it("the prompt's own failure (Ctrl+C) goes up as it is, not as a wrong passphrase; the passphrase is in no message", async () => {
    copy('locked.pem');
    copy('locked.key');
    const f = findClientCertificate(LOCKED, { env: env() });
    const abort = new DOMException('The operation was aborted.', 'AbortError');
    await expect(
      loadClientCertificate(f, async () => {
        throw abort;
      }),
    ).rejects.toBe(abort);
    const e = await loadClientCertificate(f, async () => 'secret-guess-123').catch(
      (x: unknown) => x as Error,
    );
    expect((e as ClientCertificateError).failure).toBe('WrongPassphrase');
    expect(`${(e as Error).message} ${(e as Error).stack}`).not.toContain('secret-guess-123');
  });

  it('an encrypted key asking for 2^31 PBKDF2 iterations: refused before the passphrase is asked, at once', async () => {
    copy('nobody.pem', 0o644);
    // PBES1 (pbeWithSHAAnd3-KeyTripleDES-CBC) with 0x7fffffff iterations and a zero ciphertext.
    const params = tlv(0x30, tlv(0x04, new Uint8Array(8)), tlv(0x02, Buffer.from('7fffffff', 'hex')));
    const algorithm = tlv(0x30, tlv(0x06, Buffer.from('2a864886f70d010c0103', 'hex')), params);
    const key = Buffer.from(tlv(0x30, algorithm, tlv(0x04, new Uint8Array(32))));
    writeFileSync(
      join(dir, 'nobody.key'),
      `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${key.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`,
      { mode: 0o600 },
    );
    const f = findClientCertificate(NOBODY, { env: env() });
    expect(f.encrypted).toBe(true);
    let asked = 0;
    const t = Date.now();
    await expect(
      loadClientCertificate(f, async () => {
        asked++;
        return 'x';
      }),
    ).rejects.toMatchObject({
      failure: 'KeyUnreadable',
      message: expect.stringContaining(
        'is encrypted with a PBES1 cost of 2147483647; psremote decrypts keys of at most 10000000',
      ),
    });
    expect(asked).toBe(0);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});
