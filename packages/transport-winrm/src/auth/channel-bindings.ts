import { createHash } from 'node:crypto';
import { authError } from './auth-error.ts';
import { hex } from './bytes.ts';
import { readChildren, readTlv } from './der.ts';
import { tlsServerEndPointBindings } from './ntlm-crypto.ts';

/** Signature algorithm OIDs (DER value bytes, hex) and the hash RFC 5929 4.1 takes for them. */
const SIGNATURE_HASH: Record<string, string> = {
  '2a864886f70d010104': 'sha256', // md5WithRSAEncryption: MD5 is replaced by SHA-256 (RFC 5929 4.1)
  '2a864886f70d010105': 'sha256', // sha1WithRSAEncryption: so is SHA-1
  '2a864886f70d01010b': 'sha256', // sha256WithRSAEncryption
  '2a864886f70d01010c': 'sha384', // sha384WithRSAEncryption
  '2a864886f70d01010d': 'sha512', // sha512WithRSAEncryption
  '2a8648ce3d040301': 'sha256', // ecdsa-with-SHA1
  '2a8648ce3d040302': 'sha256', // ecdsa-with-SHA256
  '2a8648ce3d040303': 'sha384', // ecdsa-with-SHA384
  '2a8648ce3d040304': 'sha512', // ecdsa-with-SHA512
};
const RSASSA_PSS = '2a864886f70d01010a';
const DIGEST_HASH: Record<string, string> = {
  '608648016503040201': 'sha256',
  '608648016503040202': 'sha384',
  '608648016503040203': 'sha512',
};

/**
 * The hash RFC 5929 4.1 uses for a certificate's tls-server-end-point binding: the hash of its signature
 * algorithm, SHA-256 when that is MD5 or SHA-1, and (as pypsrp does) SHA-256 for an algorithm without one
 * (Ed25519) or one we do not know.
 */
export function certificateBindingHash(certificateDer: Uint8Array): 'sha256' | 'sha384' | 'sha512' {
  try {
    const cert = readTlv(certificateDer, 0, 'Certificate');
    const [, sigAlg] = readChildren(cert.value, 'Certificate');
    if (cert.tag !== 0x30 || sigAlg?.tag !== 0x30) throw new Error('not a Certificate SEQUENCE');
    const [oid, params] = readChildren(sigAlg.value, 'signatureAlgorithm');
    if (oid?.tag !== 0x06) throw new Error('no signature algorithm OID');
    const id = hex(oid.value);
    if (id === RSASSA_PSS && params?.tag === 0x30) {
      // RSASSA-PSS-params: [0] hashAlgorithm AlgorithmIdentifier DEFAULT sha1 (RFC 4055 3.1).
      const first = readChildren(params.value, 'RSASSA-PSS-params')[0];
      if (first?.tag !== 0xa0) return 'sha256';
      const hashOid = readChildren(readTlv(first.value, 0, 'hashAlgorithm').value, 'hashAlgorithm')[0];
      return (
        (DIGEST_HASH[hex(hashOid?.value ?? new Uint8Array(0))] as 'sha256' | 'sha384' | 'sha512') ?? 'sha256'
      );
    }
    return (SIGNATURE_HASH[id] as 'sha256' | 'sha384' | 'sha512' | undefined) ?? 'sha256';
  } catch (e) {
    throw authError(
      'WinRMAuthTokenInvalid',
      `the server certificate is not DER this layer can read: ${(e as Error).message}`,
      e,
    );
  }
}

/**
 * Channel bindings' application data for a TLS server certificate (RFC 5929 4.1): "tls-server-end-point:" ‖
 * hash(certificate DER). Pass it as `channelBindings` to `NtlmContext.authenticate` / `SpnegoNtlm.step`.
 */
export function tlsServerEndPointFromCertificate(certificateDer: Uint8Array): Uint8Array {
  const hash = certificateBindingHash(certificateDer);
  return tlsServerEndPointBindings(new Uint8Array(createHash(hash).update(certificateDer).digest()));
}
