import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { isPSRemotingError, type PSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { fakeCrypt32 } from '../../../test/peer/fake-crypt32.ts';
import { findCertificate, loadCertificate } from '../../client-certificate-target.ts';
import { endpointFromComputerName } from '../../url/wsman-endpoint.ts';
import {
  type ClientCertificateError,
  exportStoreCertificate,
  findClientCertificate,
} from '../client-certificate.ts';
import { certificateFailure } from '../testing-fixtures/certificate-failure.ts';
import { makeTestCertificate } from '../testing-fixtures/openssl-cert.ts';
import { exportFromUserStore, findInUserStore, USER_STORE } from './cert-store.ts';
import { CRYPT32, loadCrypt32 } from './crypt32-ffi.ts';

// The Windows store path of -CertificateThumbprint, run on Linux against fake-crypt32.ts: the same native memory
// layouts crypt32 reads and writes, real certificates, and the PKCS#12 made by the real openssl.

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'client-certs');
const pem = (n: string) => readFileSync(join(FIXTURES, n), 'utf8');
const PSUSER = 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C';
const NOBODY = '0F0151719EF9411B6C030C52C69B1F203E19BA5E';
const psuser = { certPem: pem('psuser.pem'), keyPem: pem('psuser.pem') };
const nobodyCertOnly = { certPem: pem('nobody.pem') };

const failure = certificateFailure;

const win = (load: ReturnType<typeof fakeCrypt32>['load']) => ({
  env: {},
  platform: 'win32' as const,
  crypt32: load,
});

describe('findInUserStore / exportFromUserStore over the fake crypt32', () => {
  it('found: the certificate from its CERT_CONTEXT; the store opened as the WinRM client opens it; all freed', () => {
    const fake = fakeCrypt32({ certificates: [nobodyCertOnly, psuser] });
    const cert = findInUserStore(fake.load(), PSUSER);
    expect(cert.subject).toBe('CN=psuser');
    expect(cert.fingerprint.replace(/:/g, '')).toBe(PSUSER);
    expect(fake.calls).toEqual([
      'CertOpenStore',
      'CertFindCertificateInStore',
      'CertFreeCertificateContext',
      'CertCloseStore',
    ]);
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });

  it('exported: PBES2 (AES-256/SHA-256) asked first, the size then the bytes, a random password; Node reads the PFX', () => {
    const fake = fakeCrypt32({ certificates: [psuser] });
    const a = exportFromUserStore(fake.load(), PSUSER);
    const flags =
      CRYPT32.EXPORT_PRIVATE_KEYS |
      CRYPT32.REPORT_NO_PRIVATE_KEY |
      CRYPT32.REPORT_NOT_ABLE_TO_EXPORT_PRIVATE_KEY |
      CRYPT32.PKCS12_EXPORT_PBES2_PARAMS;
    expect(fake.exports).toEqual([
      { flags, pbes2Alg: 'AES256-SHA256', passwordLength: 32, size: true },
      { flags, pbes2Alg: 'AES256-SHA256', passwordLength: 32, size: false },
    ]);
    // The bytes are those of the second call (each call encodes afresh, as Windows does), copied whole.
    expect(fake.pfxMade).toHaveLength(2);
    expect(fake.pfxMade[0]?.equals(fake.pfxMade[1] as Buffer)).toBe(false);
    expect(a.pfx.equals(fake.pfxMade[1] as Buffer)).toBe(true);
    expect(() => createSecureContext({ pfx: a.pfx, passphrase: a.passphrase })).not.toThrow();
    expect(() => createSecureContext({ pfx: a.pfx, passphrase: `${a.passphrase}x` })).toThrow(/mac verify/);
    const b = exportFromUserStore(fake.load(), PSUSER);
    expect(b.passphrase).not.toBe(a.passphrase);
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    // The memory store was opened and closed too: two opens and two closes per export.
    expect(fake.calls.filter((c) => c === 'CertOpenStore')).toHaveLength(4);
    expect(fake.calls.filter((c) => c === 'CertCloseStore')).toHaveLength(4);
  });

  it('an older Windows refusing PKCS12_EXPORT_PBES2_PARAMS (NTE_BAD_FLAGS): exported again without it (3DES)', () => {
    const fake = fakeCrypt32({ certificates: [psuser], windows: '3des' });
    const a = exportFromUserStore(fake.load(), PSUSER);
    expect(fake.exports.map((e) => [e.flags, e.pbes2Alg, e.size])).toEqual([
      [0x87, 'AES256-SHA256', true],
      [0x07, null, true],
      [0x07, null, false],
    ]);
    expect(() => createSecureContext({ pfx: a.pfx, passphrase: a.passphrase })).not.toThrow();
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });

  it('a Windows build before 10 1709 (Server 2016: 14393) is not asked for PBES2; a Windows answering the unknown flag with a Win32 code is asked again without it', () => {
    const old = fakeCrypt32({ certificates: [psuser], windows: 'rc2', release: '10.0.14393' });
    exportFromUserStore(old.load(), PSUSER);
    expect(old.exports.map((e) => [e.flags, e.pbes2Alg, e.size])).toEqual([
      [0x07, null, true],
      [0x07, null, false],
    ]);
    const current = fakeCrypt32({ certificates: [psuser], release: '10.0.16299' });
    exportFromUserStore(current.load(), PSUSER);
    expect(current.exports.map((e) => e.pbes2Alg)).toEqual(['AES256-SHA256', 'AES256-SHA256']);
    // The build unknown, and the flag refused with ERROR_INVALID_PARAMETER: the default export.
    const unknown = fakeCrypt32({ certificates: [psuser], windows: 'rc2', unknownFlagError: 87 });
    exportFromUserStore(unknown.load(), PSUSER);
    expect(unknown.exports.map((e) => [e.flags, e.size])).toEqual([
      [0x87, true],
      [0x07, true],
      [0x07, false],
    ]);
    expect(unknown.live()).toEqual({ stores: 0, contexts: 0 });
  });

  it('not found: NotFound naming Cert:\\CurrentUser\\My; no key: NoPrivateKey; both free everything', () => {
    const fake = fakeCrypt32({ certificates: [nobodyCertOnly] });
    const e = failure(() => findInUserStore(fake.load(), PSUSER));
    expect(e.failure).toBe('NotFound');
    expect(e.message).toBe(
      `No certificate with thumbprint ${PSUSER} was found in ${USER_STORE}. Import it with its private key (Import-PfxCertificate -CertStoreLocation ${USER_STORE}), or set PSREMOTE_CERT_DIR to a directory of PEM files.`,
    );
    const k = failure(() => exportFromUserStore(fake.load(), NOBODY));
    expect(k.failure).toBe('NoPrivateKey');
    expect(k.message).toContain(
      `The certificate with thumbprint ${NOBODY} in Cert:\\CurrentUser\\My has no private key.`,
    );
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });

  it('a non-exportable key: KeyNotExportable, saying why psremote cannot use it and how to check', () => {
    const fake = fakeCrypt32({ certificates: [{ ...psuser, exportable: false }] });
    const e = failure(() => exportFromUserStore(fake.load(), PSUSER));
    expect(e.failure).toBe('KeyNotExportable');
    expect(e.message).toContain('cannot be exported (error 0x8009000B)');
    expect(e.message).toContain("Node's TLS, which can only use a key it can read");
    expect(e.message).toContain('smart card or in a TPM, cannot be used by psremote');
    expect(e.message).toContain(`certutil -user -store My ${PSUSER}`);
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });

  it('every failure on the way (in-memory store, copy, export) frees every handle and says the code', () => {
    for (const [failures, text] of [
      [
        { memoryStore: 0x8007000e },
        'An in-memory certificate store could not be created (error 0x8007000E).',
      ],
      [{ add: 0x80092005 }, 'could not be copied for export (error 0x80092005)'],
      [{ export: 0x80070005 }, 'could not be exported with its private key (error 0x80070005)'],
    ] as const) {
      const fake = fakeCrypt32({ certificates: [psuser], failures });
      const e = failure(() => exportFromUserStore(fake.load(), PSUSER));
      expect(e.failure).toBe('KeyUnreadable');
      expect(e.message).toContain(text);
      expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
    }
  });

  it('native memory failing at any allocation: every handle closed, every allocation freed', () => {
    for (let failAt = 1; ; failAt++) {
      const fake = fakeCrypt32({ certificates: [psuser] });
      const real = fake.load();
      const live = new Set<bigint>();
      let n = 0;
      const koffi = {
        ...real.koffi,
        alloc(type: unknown, len: number): bigint {
          if (++n === failAt) throw new Error('out of memory (injected)');
          const p = real.koffi.alloc(type, len);
          live.add(p);
          return p;
        },
        free(p: bigint): void {
          expect(live.delete(p)).toBe(true);
          real.koffi.free(p);
        },
      };
      let done = false;
      try {
        exportFromUserStore({ ...real, koffi }, PSUSER);
        done = true;
      } catch (e) {
        expect((e as Error).message).toBe('out of memory (injected)');
      }
      expect({ failAt, live: fake.live(), allocations: live.size }).toEqual({
        failAt,
        live: { stores: 0, contexts: 0 },
        allocations: 0,
      });
      if (done) break;
    }
  });

  it('no user store (no profile): NotFound saying the store cannot be opened', () => {
    const fake = fakeCrypt32({ certificates: [psuser], noUserStore: true });
    const e = failure(() => findInUserStore(fake.load(), PSUSER));
    expect(e.failure).toBe('NotFound');
    expect(e.message).toContain(
      'the certificate store Cert:\\CurrentUser\\My cannot be opened (it does not exist)',
    );
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });
});

describe('findClientCertificate on Windows', () => {
  it('looks in the store: the file names Cert:\\CurrentUser\\My\\<thumbprint>', () => {
    const fake = fakeCrypt32({ certificates: [psuser] });
    expect(findClientCertificate(PSUSER.toLowerCase(), win(fake.load))).toEqual({
      thumbprint: PSUSER,
      store: USER_STORE,
      certFile: `${USER_STORE}\\${PSUSER}`,
      keyFile: `${USER_STORE}\\${PSUSER}`,
      subject: 'CN=psuser',
      encrypted: false,
      directory: USER_STORE,
    });
  });

  it('PSREMOTE_CERT_DIR set: the directory, not the store (crypt32 never called)', () => {
    const fake = fakeCrypt32({ certificates: [psuser] });
    const e = failure(() =>
      findClientCertificate(PSUSER, {
        ...win(fake.load),
        env: { PSREMOTE_CERT_DIR: '/nonexistent-psremote-certs' },
      }),
    );
    expect(e.failure).toBe('NotFound');
    expect(e.message).toContain('/nonexistent-psremote-certs does not exist');
    expect(fake.calls).toEqual([]);
  });

  it('crypt32 or koffi missing: StoreUnavailable, saying what is missing and offering PSREMOTE_CERT_DIR', () => {
    const e = failure(() =>
      findClientCertificate(PSUSER, { ...win(() => loadCrypt32({ koffiModule: 'no-such-koffi' }) as never) }),
    );
    expect(e.failure).toBe('StoreUnavailable');
    expect(e.message).toContain('Reading the certificate store needs the koffi package');
    expect(e.message).toContain('Set PSREMOTE_CERT_DIR to a directory holding the certificate and its key');
    // Off Windows (the real loader): the same failure, saying why.
    const l = failure(() => findClientCertificate(PSUSER, { env: {}, platform: 'win32' }));
    expect(l.failure).toBe('StoreUnavailable');
    expect(l.message).toContain('The Windows certificate store exists only on Windows.');
    // Anything but Crypt32UnavailableError is a bug: it goes up as it is.
    expect(() =>
      findClientCertificate(PSUSER, {
        ...win(() => {
          throw new RangeError('bug');
        }),
      }),
    ).toThrow(RangeError);
  });

  it('the checks apply to store certificates: an expired one is refused at lookup', () => {
    const old = makeTestCertificate({
      cn: 'old',
      eku: 'clientAuth',
      notBefore: '20200101000000Z',
      notAfter: '20200201000000Z',
    });
    const fake = fakeCrypt32({ certificates: [{ certPem: old.certPem, keyPem: old.keyPem }] });
    const e = failure(() => findClientCertificate(old.thumbprint, win(fake.load)));
    expect(e.failure).toBe('CertificateExpired');
    expect(e.message).toContain(`(${USER_STORE}\\${old.thumbprint}) expired on 2020-02-01 00:00:00 UTC`);
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });
  });
});

describe('the transport side: PowerShell-style errors and the TLS context', () => {
  const endpoint = endpointFromComputerName({ computerName: 'srv', useSSL: true });
  const fail = (f: () => unknown): PSRemotingError => {
    try {
      f();
    } catch (e) {
      expect(isPSRemotingError(e)).toBe(true);
      return e as PSRemotingError;
    }
    throw new Error('expected a PSRemotingError');
  };

  it('koffi unavailable: CertificateStoreNotAvailable (NotInstalled), WinRM-style text', async () => {
    const e = fail(() =>
      findCertificate(PSUSER, endpoint, {}, 'win32', () => loadCrypt32({ koffiModule: 'no-such-koffi' })),
    );
    expect(e.errorId).toBe('CertificateStoreNotAvailable');
    expect(e.category).toBe('NotInstalled');
    expect(e.message).toMatch(
      /^Connecting to remote server srv failed with the following error message : The certificate with thumbprint CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C would be looked up in your certificate store \(Cert:\\CurrentUser\\My\), which cannot be read here: Reading the certificate store needs the koffi package/,
    );
    expect((e.cause as ClientCertificateError).failure).toBe('StoreUnavailable');
  });

  it('not found in the store: CreateRemoteRunspaceFailed, as for the directory', () => {
    const fake = fakeCrypt32({ certificates: [] });
    const e = fail(() => findCertificate(PSUSER, endpoint, {}, 'win32', fake.load));
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect((e.cause as ClientCertificateError).failure).toBe('NotFound');
    expect(e.recommendedAction).toBe(
      'Import the certificate with its private key into Cert:\\CurrentUser\\My, or point PSREMOTE_CERT_DIR at a directory of PEM files.',
    );
  });

  it('loadCertificate: a TLS context from the PFX; from an older Windows RC2 PFX its 3DES key; an unreadable key said clearly', async () => {
    const ctx = { hostUi: { interactive: false } as never, signal: new AbortController().signal };
    const fake = fakeCrypt32({ certificates: [psuser] });
    const file = findCertificate(PSUSER, endpoint, {}, 'win32', fake.load);
    const tls = await loadCertificate({ computerName: 'srv', certificate: file }, ctx, {
      crypt32: fake.load,
    });
    expect('clientContext' in tls).toBe(true);
    expect(fake.live()).toEqual({ stores: 0, contexts: 0 });

    const again = exportStoreCertificate(file, { crypt32: fake.load });
    expect(again.certificate.fingerprint.replace(/:/g, '')).toBe(PSUSER);

    // Windows before 10 1709: certificates under RC2-40, which Node refuses as a PFX; the key bag (3DES) is read
    // alone, with the certificate the store gave.
    const rc2 = fakeCrypt32({ certificates: [psuser], windows: 'rc2' });
    const legacy = exportFromUserStore(rc2.load(), PSUSER);
    expect(() => createSecureContext({ pfx: legacy.pfx, passphrase: legacy.passphrase })).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_UNSUPPORTED_OPERATION' }),
    );
    const old = await loadCertificate({ computerName: 'srv', certificate: file }, ctx, { crypt32: rc2.load });
    expect('clientContext' in old).toBe(true);
    expect(rc2.live()).toEqual({ stores: 0, contexts: 0 });

    // A PFX whose key Node cannot read either: said clearly.
    const rc2key = fakeCrypt32({ certificates: [psuser], windows: 'rc2-key' });
    const e = await loadCertificate({ computerName: 'srv', certificate: file }, ctx, {
      crypt32: rc2key.load,
    }).then(
      () => undefined,
      (x: unknown) => x as PSRemotingError,
    );
    expect(e?.errorId).toBe('CreateRemoteRunspaceFailed');
    expect((e?.cause as ClientCertificateError | undefined)?.failure).toBe('KeyUnreadable');
    expect(e?.message).toContain('with legacy encryption (RC2), which Node');
    expect(e?.message).toContain('NODE_OPTIONS=--openssl-legacy-provider');
    expect(rc2key.live()).toEqual({ stores: 0, contexts: 0 });
    expect(new X509Certificate(psuser.certPem).subject).toBe('CN=psuser');
  });
});
