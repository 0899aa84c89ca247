/** Why a certificate could not be had; rides on the PSRemotingError as its cause. */
export type ClientCertificateFailure =
  | 'BadThumbprint'
  | 'NotFound'
  | 'NoPrivateKey'
  | 'KeyPermissions'
  | 'KeyUnreadable'
  | 'WrongPassphrase'
  | 'KeyMismatch'
  | 'PassphraseUnavailable'
  | 'HttpNotAllowed'
  | 'DirectoryTooLarge'
  | 'ChainTooLong'
  | 'CertificateChanged'
  /** Windows: the key in the store cannot be exported (non-exportable, smart card, TPM), so Node's TLS cannot use it. */
  | 'KeyNotExportable'
  /** Windows: the certificate store cannot be read at all (no koffi, no crypt32, not 64-bit Windows). */
  | 'StoreUnavailable'
  /** The certificate's validity period ended before now. */
  | 'CertificateExpired'
  /** The certificate's validity period starts after now. */
  | 'CertificateNotYetValid'
  /** The certificate's Extended Key Usage has neither Client Authentication nor anyExtendedKeyUsage. */
  | 'NotForClientAuthentication';

export class ClientCertificateError extends Error {
  readonly failure: ClientCertificateFailure;
  constructor(failure: ClientCertificateFailure, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientCertificateError';
    this.failure = failure;
  }
}
