import { describe, expect, it } from 'vitest';
import { KerberosAuthError } from '../gssapi/gss-errors.ts';
import { classifySspiStatus, SEC_E, SspiError, sspiFailure } from './sspi-errors.ts';
import { loadSspi } from './sspi-ffi.ts';

describe('SSPI statuses', () => {
  it('classifies the statuses a Kerberos logon ends with as the GSSAPI path does', () => {
    expect(classifySspiStatus(SEC_E.LOGON_DENIED)).toBe('LogonDenied');
    expect(classifySspiStatus(SEC_E.TARGET_UNKNOWN)).toBe('TargetUnknown');
    expect(classifySspiStatus(SEC_E.WRONG_PRINCIPAL)).toBe('TargetUnknown');
    expect(classifySspiStatus(SEC_E.TIME_SKEW)).toBe('ClockSkew');
    expect(classifySspiStatus(SEC_E.NO_AUTHENTICATING_AUTHORITY)).toBe('KdcUnreachable');
    expect(classifySspiStatus(SEC_E.NO_CREDENTIALS)).toBe('NoCredentials');
    expect(classifySspiStatus(SEC_E.MUTUAL_AUTH_FAILED)).toBe('MutualAuthFailed');
    expect(classifySspiStatus(SEC_E.BAD_BINDINGS)).toBe('MutualAuthFailed');
    expect(classifySspiStatus(SEC_E.SECPKG_NOT_FOUND)).toBe('NotConfigured');
    expect(classifySspiStatus(0x80090399)).toBe('Other');
    // A signed HRESULT (how some callers hold it) classifies the same.
    expect(classifySspiStatus(SEC_E.TIME_SKEW | 0)).toBe('ClockSkew');
  });

  it('words a failure as WinRM does, with the real SSPI code in the text and the FQEID', () => {
    const e = sspiFailure(
      new SspiError('InitializeSecurityContextW', SEC_E.LOGON_DENIED),
      'srv01',
      'Kerberos',
    );
    expect(e).toBeInstanceOf(KerberosAuthError);
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.failure).toBe('LogonDenied');
    expect(e.errorCode).toBe(-2146893044);
    expect(e.newPSSessionErrorId).toBe('-2146893044,PSSessionOpenFailed');
    expect(e.message).toMatch(
      /^Connecting to remote server srv01 failed with the following error message : WinRM cannot process the request\. The following error with errorcode 0x8009030c occurred while using Kerberos authentication: The logon attempt failed/,
    );
    expect(e.message).toContain('Possible causes are');
    expect(e.message).not.toMatch(/\n\s+at /); // no stack

    const skew = sspiFailure(
      new SspiError('InitializeSecurityContextW', SEC_E.TIME_SKEW),
      'srv01',
      'Negotiate',
    );
    expect(skew.failure).toBe('ClockSkew');
    expect(skew.message).toContain('errorcode 0x80090324 occurred while using Negotiate authentication');
    expect(skew.message).not.toContain('Possible causes');

    const target = sspiFailure(
      new SspiError('InitializeSecurityContextW', SEC_E.TARGET_UNKNOWN),
      'srv01',
      'Kerberos',
    );
    expect(target.transportErrorId).toBe('TargetUnknown');
    const kdc = sspiFailure(
      new SspiError('InitializeSecurityContextW', SEC_E.NO_AUTHENTICATING_AUTHORITY),
      'srv01',
      'Kerberos',
    );
    expect(kdc.category).toBe('ConnectionError');
  });

  it('SspiError keeps the call and the unsigned code; an unknown code is named by number', () => {
    const e = new SspiError('EncryptMessage', 0x80090399 | 0);
    expect(e.status).toEqual({ call: 'EncryptMessage', code: 0x80090399, text: 'SSPI status 0x80090399' });
  });
});

describe('loading SSPI', () => {
  it('off Windows without a stand-in: KerberosNotAvailable, not a crash', () => {
    if (process.platform === 'win32') return;
    expect(() => loadSspi()).toThrow(expect.objectContaining({ errorId: 'KerberosNotAvailable' }));
  });
});
