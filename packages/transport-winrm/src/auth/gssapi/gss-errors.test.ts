import { describe, expect, it } from 'vitest';
import { classifyGssStatus, GssError, kerberosFailure } from './gss-errors.ts';

const status = (minor: number, major = 0xd0000, call = 'gss_acquire_cred_with_password') => ({
  call,
  major,
  minor,
  text: 'x',
});

describe('GSSAPI failures, classified and worded as WinRM', () => {
  it('classifies the krb5 codes the KDC and library report', () => {
    expect(classifyGssStatus(status(-1765328360))).toBe('LogonDenied'); // KDC_ERR_PREAUTH_FAILED
    expect(classifyGssStatus(status(-1765328353))).toBe('LogonDenied'); // AP_ERR_BAD_INTEGRITY (AS reply)
    expect(classifyGssStatus(status(-1765328378))).toBe('PrincipalUnknown');
    expect(classifyGssStatus(status(-1765328377, 0xd0000, 'gss_init_sec_context'))).toBe('TargetUnknown');
    expect(classifyGssStatus(status(-1765328347))).toBe('ClockSkew');
    expect(classifyGssStatus(status(-1765328228))).toBe('KdcUnreachable');
    expect(classifyGssStatus(status(-1765328230))).toBe('KdcUnreachable'); // no KDC for the realm
    expect(classifyGssStatus(status(-1765328160))).toBe('NotConfigured'); // no default realm
    expect(classifyGssStatus(status(-1765328189, 0x70000, 'gss_acquire_cred'))).toBe('NoCredentials');
    expect(classifyGssStatus(status(-1765328361))).toBe('AccountRestricted'); // password expired
    expect(classifyGssStatus(status(12345))).toBe('Other');
  });

  it('words a failure as PowerShell shows it, with the SSPI code and the library text', () => {
    const e = kerberosFailure(
      new GssError({
        call: 'gss_init_sec_context',
        major: 0xd0000,
        minor: -1765328347,
        text: 'Clock skew too great',
      }),
      'srv01',
    );
    expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(e.failure).toBe('ClockSkew');
    expect(e.errorCode).toBe(-2146893020);
    expect(e.fullyQualifiedErrorId).toBe(
      'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
    expect(e.newPSSessionErrorId).toBe('-2146893020,PSSessionOpenFailed');
    expect(
      e.message.startsWith(
        'Connecting to remote server srv01 failed with the following error message : WinRM cannot process the request. The following error with errorcode 0x80090324 occurred while using Kerberos authentication: The clocks on the client and server machines are skewed. (GSSAPI: Clock skew too great)\n Possible causes are:',
      ),
    ).toBe(true);
    expect(e.message.endsWith('For more information, see the about_Remote_Troubleshooting Help topic.')).toBe(
      true,
    );
  });
});
