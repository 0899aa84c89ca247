/*
 * A native stand-in for crypt32.dll and kernel32's GetLastError, compiled by crypt32-native.peer.test.ts, so that the
 * declarations psremote hands koffi (src/auth/certstore/crypt32-ffi.ts) are exercised by real koffi marshalling into
 * C functions with wincrypt.h's prototypes (LLP64 widths: DWORD and BOOL 32 bits, pointers and HCRYPTPROV_LEGACY 64),
 * rather than by JavaScript that receives whatever JavaScript passed. It holds one certificate and one PKCS#12 given
 * by the test, and records what it was passed for the test to read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t DWORD;
typedef int32_t BOOL;
typedef uint16_t WCHAR;
typedef struct { DWORD cbData; uint8_t *pbData; } CRYPT_INTEGER_BLOB;
typedef struct {
  DWORD dwCertEncodingType;
  uint8_t *pbCertEncoded;
  DWORD cbCertEncoded;
  void *pCertInfo;
  void *hCertStore;
} CERT_CONTEXT;
typedef struct { DWORD dwSize; void *hNcryptDescriptor; WCHAR *pwszPbes2Alg; } PKCS12_PBES2_EXPORT_PARAMS;

static DWORD last_error;
static uint8_t der[16384];
static DWORD der_len;
static uint8_t sha1[20];
static uint8_t pfx[65536];
static DWORD pfx_len;
static int live_stores, live_contexts, memory_certs;

/* What psremote passed, for the test. */
static uint64_t seen_provider;
static DWORD seen_open_flags, seen_open_encoding, seen_find_type, seen_find_encoding, seen_export_flags[8];
static int export_calls;
static WCHAR seen_store_name[32], seen_password[128], seen_alg[32];
static DWORD seen_pbes2_size;

static void copy_wide(WCHAR *to, const WCHAR *from, size_t max) {
  size_t i = 0;
  for (; from && from[i] && i + 1 < max; i++) to[i] = from[i];
  to[i] = 0;
}

void native_set(const uint8_t *d, DWORD n, const uint8_t *hash, const uint8_t *p, DWORD pn) {
  memcpy(der, d, n);
  der_len = n;
  memcpy(sha1, hash, 20);
  memcpy(pfx, p, pn);
  pfx_len = pn;
}

DWORD GetLastError(void) { return last_error; }

void *CertOpenStore(uintptr_t provider, DWORD encoding, uintptr_t prov, DWORD flags, const void *para) {
  if (prov != 0) { last_error = 0x80070057; return NULL; }
  if (provider == 10) {
    seen_provider = provider;
    seen_open_flags = flags;
    seen_open_encoding = encoding;
    copy_wide(seen_store_name, para, 32);
  } else if (provider != 2 || para != NULL) {
    last_error = 0x80070057;
    return NULL;
  }
  live_stores++;
  return calloc(1, 16);
}

const CERT_CONTEXT *CertFindCertificateInStore(void *store, DWORD encoding, DWORD flags, DWORD type,
                                               const void *para, const CERT_CONTEXT *prev) {
  const CRYPT_INTEGER_BLOB *hash = para;
  seen_find_type = type;
  seen_find_encoding = encoding;
  if (!store || flags != 0 || prev != NULL || !hash) { last_error = 0x80070057; return NULL; }
  if (hash->cbData != 20 || memcmp(hash->pbData, sha1, 20) != 0) { last_error = 0x80092004; return NULL; }
  CERT_CONTEXT *c = calloc(1, sizeof *c);
  c->dwCertEncodingType = 1;
  c->pbCertEncoded = der;
  c->cbCertEncoded = der_len;
  c->hCertStore = store;
  live_contexts++;
  return c;
}

BOOL CertAddCertificateContextToStore(void *store, const CERT_CONTEXT *c, DWORD disposition, void **out) {
  if (!store || !c || disposition != 4 || out != NULL) { last_error = 0x80070057; return 0; }
  memory_certs++;
  return 1;
}

BOOL PFXExportCertStoreEx(void *store, CRYPT_INTEGER_BLOB *blob, const WCHAR *password, void *para, DWORD flags) {
  seen_export_flags[export_calls++ & 7] = flags;
  copy_wide(seen_password, password, 128);
  if (!store || !blob) { last_error = 0x80070057; return 0; }
  if (flags & 0x80) {
    const PKCS12_PBES2_EXPORT_PARAMS *p = para;
    if (!p) { last_error = 0x80070057; return 0; }
    seen_pbes2_size = p->dwSize;
    copy_wide(seen_alg, p->pwszPbes2Alg, 32);
  } else if (para != NULL) {
    last_error = 0x80070057;
    return 0;
  }
  if (!blob->pbData) { blob->cbData = pfx_len; return 1; }
  if (blob->cbData < pfx_len) { last_error = 234; return 0; }
  memcpy(blob->pbData, pfx, pfx_len);
  blob->cbData = pfx_len;
  return 1;
}

BOOL CertFreeCertificateContext(const CERT_CONTEXT *c) {
  if (c) { live_contexts--; free((void *)c); }
  return 1;
}

BOOL CertCloseStore(void *store, DWORD flags) {
  if (!store || flags != 0) { last_error = 0x80070057; return 0; }
  live_stores--;
  free(store);
  return 1;
}

/* Read back by the test. */
int native_live(void) { return live_stores * 1000 + live_contexts; }
uint64_t native_provider(void) { return seen_provider; }
DWORD native_open_flags(void) { return seen_open_flags; }
DWORD native_open_encoding(void) { return seen_open_encoding; }
DWORD native_find_type(void) { return seen_find_type; }
DWORD native_find_encoding(void) { return seen_find_encoding; }
DWORD native_export_flags(int i) { return seen_export_flags[i & 7]; }
int native_export_calls(void) { return export_calls; }
const WCHAR *native_store_name(void) { return seen_store_name; }
const WCHAR *native_password(void) { return seen_password; }
const WCHAR *native_alg(void) { return seen_alg; }
DWORD native_pbes2_size(void) { return seen_pbes2_size; }
int native_memory_certs(void) { return memory_certs; }
