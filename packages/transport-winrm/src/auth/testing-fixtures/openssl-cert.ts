import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Tests only: a self-signed client certificate (EC P-256) made by the openssl CLI, with the validity dates and
 * Extended Key Usage a test needs. `openssl ca -selfsign` is what sets arbitrary notBefore/notAfter dates in OpenSSL
 * 3.0 (`req -x509` only counts days from now).
 */
export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-1, 40 upper-case hex digits. */
  readonly thumbprint: string;
}

export interface TestCertificateOptions {
  readonly cn: string;
  /** The extendedKeyUsage extension's value (`clientAuth`, `serverAuth,codeSigning`, `anyExtendedKeyUsage`); null: none. */
  readonly eku: string | null;
  /** `YYYYMMDDHHMMSSZ`; default: yesterday. */
  readonly notBefore?: string;
  /** `YYYYMMDDHHMMSSZ`; default: in 30 days. */
  readonly notAfter?: string;
}

function generalized(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export function makeTestCertificate(o: TestCertificateOptions): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'psremote-testcert-'));
  const at = (n: string) => join(dir, n);
  try {
    writeFileSync(at('index.txt'), '');
    writeFileSync(
      at('ca.cnf'),
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `dir = ${dir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir',
        'serial = $dir/serial',
        'default_md = sha256',
        'policy = anything',
        'unique_subject = no',
        'copy_extensions = none',
        '[anything]',
        'commonName = supplied',
        '[ext]',
        'basicConstraints = CA:FALSE',
        'keyUsage = digitalSignature',
        ...(o.eku ? [`extendedKeyUsage = ${o.eku}`] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(at('serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('key.pem')]);
    run(['req', '-new', '-key', at('key.pem'), '-subj', `/CN=${o.cn}`, '-out', at('req.pem')]);
    const now = Date.now();
    run([
      'ca',
      '-batch',
      '-config',
      at('ca.cnf'),
      '-selfsign',
      '-keyfile',
      at('key.pem'),
      '-in',
      at('req.pem'),
      '-out',
      at('cert.pem'),
      '-extensions',
      'ext',
      '-notext',
      '-startdate',
      o.notBefore ?? generalized(new Date(now - 86_400_000)),
      '-enddate',
      o.notAfter ?? generalized(new Date(now + 30 * 86_400_000)),
    ]);
    const certPem = readFileSync(at('cert.pem'), 'utf8');
    return {
      certPem,
      keyPem: readFileSync(at('key.pem'), 'utf8'),
      thumbprint: new X509Certificate(certPem).fingerprint.replace(/:/g, ''),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
