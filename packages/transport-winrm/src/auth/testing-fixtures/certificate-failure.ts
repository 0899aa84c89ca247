import { expect } from 'vitest';
import { ClientCertificateError } from '../client-certificate-error.ts';

/** Runs `f`, which must throw a ClientCertificateError, and returns it (anything else fails the test). */
export function certificateFailure(f: () => unknown): ClientCertificateError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ClientCertificateError);
    return e as ClientCertificateError;
  }
  throw new Error('expected a ClientCertificateError');
}
