import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFromUserStore, findInUserStore } from '../../src/auth/certstore/cert-store.ts';
import { CRYPT32, type Crypt32Ffi, loadCrypt32 } from '../../src/auth/certstore/crypt32-ffi.ts';
import { ClientCertificateError } from '../../src/auth/client-certificate-error.ts';

/**
 * The crypt32 declarations through REAL koffi: crypt32-native.c (compiled here with the system C compiler) has
 * wincrypt.h's prototypes, and psremote's lookup and export run against it with the loader as on Windows (platform
 * win32, the DLL paths pointed at the compiled stand-in). The JavaScript fake (fake-crypt32.ts) receives whatever
 * JavaScript passed; this checks what C receives: the store name as UTF-16, the provider as a pointer-sized integer,
 * the flags, the hash blob, the password as a NUL-terminated UTF-16 string, the PKCS12_PBES2_EXPORT_PARAMS struct,
 * NULL results and GetLastError. The peer is the C compiler (`cc`, installed by scripts/setup.sh --peers).
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'client-certs');
const PEM = join(FIXTURES, 'psuser.pem');
const PSUSER = 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C';

function compilerMissing(): string | undefined {
  const r = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'no C compiler (cc)';
}
function skipReason(): string | undefined {
  const missing = compilerMissing();
  if (!missing) return undefined;
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the native crypt32 stand-in cannot be built: ${missing}`);
  console.warn(`[transport-winrm] native crypt32 tests skipped: ${missing}`);
  return missing;
}
const skip = skipReason();

type Fn = (...a: unknown[]) => unknown;

describe.skipIf(skip)(
  'the crypt32 declarations through koffi into C functions with the wincrypt.h prototypes',
  () => {
    let dir: string;
    let ffi: Crypt32Ffi;
    let native: (sig: string) => Fn;
    const pfxPassword = 'fixed-for-the-stand-in';
    let pfx: Buffer;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'psremote-crypt32-native-'));
      const lib = join(dir, 'crypt32-native.so');
      execFileSync(
        'cc',
        ['-shared', '-fPIC', '-O1', '-o', lib, join(import.meta.dirname, 'crypt32-native.c')],
        {
          timeout: 60_000,
        },
      );
      const koffi = createRequire(import.meta.url)('koffi') as { load(p: string): { func(s: string): Fn } };
      const handle = koffi.load(lib);
      native = (sig) => handle.func(sig);
      const cert = new X509Certificate(readFileSync(PEM));
      pfx = execFileSync('openssl', [
        'pkcs12',
        '-export',
        '-in',
        PEM,
        '-inkey',
        PEM,
        '-passout',
        `pass:${pfxPassword}`,
      ]);
      native(
        'void native_set(const uint8_t *d, uint32_t n, const uint8_t *hash, const uint8_t *p, uint32_t pn)',
      )(cert.raw, cert.raw.length, Buffer.from(PSUSER, 'hex'), pfx, pfx.length);
      ffi = loadCrypt32({
        platform: 'win32',
        arch: 'x64',
        library: lib,
        kernel32: lib,
        release: '10.0.19045',
      });
    }, 60_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the lookup: provider 10, CURRENT_USER|READONLY|OPEN_EXISTING, L"MY", the SHA-1 blob; freed', () => {
      const cert = findInUserStore(ffi, PSUSER);
      expect(cert.subject).toBe('CN=psuser');
      expect(native('uint64_t native_provider(void)')()).toBe(10);
      expect(native('uint32_t native_open_flags(void)')()).toBe(0x1c000);
      expect(native('uint32_t native_open_encoding(void)')()).toBe(0);
      expect(native('const char16_t *native_store_name(void)')()).toBe('MY');
      expect(native('uint32_t native_find_type(void)')()).toBe(CRYPT32.CERT_FIND_SHA1_HASH);
      expect(native('uint32_t native_find_encoding(void)')()).toBe(0x10001);
      expect(native('int native_live(void)')()).toBe(0);
    });

    it('not found: NULL from C, CRYPT_E_NOT_FOUND through GetLastError: NotFound; freed', () => {
      let e: unknown;
      try {
        findInUserStore(ffi, '00'.repeat(20));
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(ClientCertificateError);
      expect((e as ClientCertificateError).failure).toBe('NotFound');
      expect((e as Error).message).toContain('was found in Cert:\\CurrentUser\\My');
      expect(native('int native_live(void)')()).toBe(0);
    });

    it('the export: the copy into a memory store, PBES2 params as C reads them, the UTF-16 password, two calls', () => {
      const calls = Number(native('int native_export_calls(void)')());
      const r = exportFromUserStore(ffi, PSUSER);
      expect(Number(native('int native_export_calls(void)')()) - calls).toBe(2);
      expect(native('uint32_t native_export_flags(int i)')(calls)).toBe(0x87);
      expect(native('uint32_t native_pbes2_size(void)')()).toBe(24);
      expect(native('const char16_t *native_alg(void)')()).toBe('AES256-SHA256');
      expect(native('const char16_t *native_password(void)')()).toBe(r.passphrase);
      expect(native('int native_memory_certs(void)')()).toBeGreaterThanOrEqual(1);
      // The bytes C wrote, whole (the stand-in's PKCS#12 is under its own password).
      expect(r.pfx.equals(pfx)).toBe(true);
      expect(() => createSecureContext({ pfx: r.pfx, passphrase: pfxPassword })).not.toThrow();
      expect(native('int native_live(void)')()).toBe(0);
    });
  },
);
