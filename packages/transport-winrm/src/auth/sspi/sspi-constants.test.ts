import { describe, expect, it } from 'vitest';
import { ISC_REQUEST } from './sspi-context.ts';
import { SEC_E, sspiStatusText } from './sspi-errors.ts';
import { SSPI, secFailed, secStatus } from './sspi-ffi.ts';

// Every number the SSPI backend hands to (or reads from) secur32.dll, pinned against the Windows SDK's sspi.h and
// winerror.h as Microsoft documents them. No Windows machine runs these tests, so a wrong value here would only
// show on the first real logon. Sources (learn.microsoft.com):
//   AcquireCredentialsHandleW  https://learn.microsoft.com/windows/win32/api/sspi/nf-sspi-acquirecredentialshandlew
//   InitializeSecurityContextW https://learn.microsoft.com/windows/win32/api/sspi/nf-sspi-initializesecuritycontextw
//   SecBuffer                  https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secbuffer
//   SecBufferDesc              https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secbufferdesc
//   SEC_WINNT_AUTH_IDENTITY_W  https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-sec_winnt_auth_identity_w
//   QueryContextAttributesW    https://learn.microsoft.com/windows/win32/api/sspi/nf-sspi-querycontextattributesw
//   DecryptMessage (General)   https://learn.microsoft.com/windows/win32/secauthn/decryptmessage--general
//   SEC_E_* / SEC_I_*          winerror.h; [MS-ERREF] 2.1.1 HRESULT Values (the same numbers and texts)

describe('sspi.h constants', () => {
  it('AcquireCredentialsHandleW: SECPKG_CRED_OUTBOUND 2; the identity struct is UNICODE (2, ANSI is 1)', () => {
    expect(SSPI.SECPKG_CRED_OUTBOUND).toBe(0x2);
    expect(SSPI.SEC_WINNT_AUTH_IDENTITY_UNICODE).toBe(0x2);
  });

  it('InitializeSecurityContextW: TargetDataRep SECURITY_NATIVE_DREP 0x10 (NETWORK_DREP is 0)', () => {
    expect(SSPI.SECURITY_NATIVE_DREP).toBe(0x10);
  });

  it('ISC_REQ_* and ISC_RET_* bits, and what psremote asks for', () => {
    expect({
      DELEGATE: SSPI.ISC_REQ_DELEGATE,
      MUTUAL_AUTH: SSPI.ISC_REQ_MUTUAL_AUTH,
      REPLAY_DETECT: SSPI.ISC_REQ_REPLAY_DETECT,
      SEQUENCE_DETECT: SSPI.ISC_REQ_SEQUENCE_DETECT,
      CONFIDENTIALITY: SSPI.ISC_REQ_CONFIDENTIALITY,
      ALLOCATE_MEMORY: SSPI.ISC_REQ_ALLOCATE_MEMORY,
      INTEGRITY: SSPI.ISC_REQ_INTEGRITY,
    }).toEqual({
      DELEGATE: 0x1,
      MUTUAL_AUTH: 0x2,
      REPLAY_DETECT: 0x4,
      SEQUENCE_DETECT: 0x8,
      CONFIDENTIALITY: 0x10,
      ALLOCATE_MEMORY: 0x100,
      INTEGRITY: 0x10000,
    });
    // The ISC_RET_* bits share the ISC_REQ_* positions for these three.
    expect([SSPI.ISC_RET_MUTUAL_AUTH, SSPI.ISC_RET_CONFIDENTIALITY, SSPI.ISC_RET_INTEGRITY]).toEqual([
      0x2, 0x10, 0x10000,
    ]);
    // MUTUAL | REPLAY | SEQUENCE | CONFIDENTIALITY | ALLOCATE_MEMORY | INTEGRITY; no DELEGATE (that is CredSSP's).
    expect(ISC_REQUEST).toBe(0x1011e);
  });

  it('SecBuffer types and version', () => {
    expect({
      VERSION: SSPI.SECBUFFER_VERSION,
      EMPTY: SSPI.SECBUFFER_EMPTY,
      DATA: SSPI.SECBUFFER_DATA,
      TOKEN: SSPI.SECBUFFER_TOKEN,
      PADDING: SSPI.SECBUFFER_PADDING,
      STREAM: SSPI.SECBUFFER_STREAM,
      CHANNEL_BINDINGS: SSPI.SECBUFFER_CHANNEL_BINDINGS,
    }).toEqual({ VERSION: 0, EMPTY: 0, DATA: 1, TOKEN: 2, PADDING: 9, STREAM: 10, CHANNEL_BINDINGS: 14 });
  });

  it('QueryContextAttributesW attributes: SIZES 0, NEGOTIATION_INFO 12', () => {
    expect(SSPI.SECPKG_ATTR_SIZES).toBe(0);
    expect(SSPI.SECPKG_ATTR_NEGOTIATION_INFO).toBe(12);
  });

  it('DecryptMessage pfQOP: SECQOP_WRAP_NO_ENCRYPT 0x80000001 (signed only), compared unsigned', () => {
    expect(SSPI.SECQOP_WRAP_NO_ENCRYPT).toBe(0x80000001);
    expect(new Uint32Array(Int32Array.of(0x80000001 | 0).buffer)[0]).toBe(SSPI.SECQOP_WRAP_NO_ENCRYPT);
  });
});

describe('winerror.h statuses', () => {
  it('SEC_E_OK and the SEC_I_* successes', () => {
    expect([
      SSPI.SEC_E_OK,
      SSPI.SEC_I_CONTINUE_NEEDED,
      SSPI.SEC_I_COMPLETE_NEEDED,
      SSPI.SEC_I_COMPLETE_AND_CONTINUE,
    ]).toEqual([0, 0x00090312, 0x00090313, 0x00090314]);
    for (const s of [
      SSPI.SEC_I_CONTINUE_NEEDED,
      SSPI.SEC_I_COMPLETE_NEEDED,
      SSPI.SEC_I_COMPLETE_AND_CONTINUE,
    ])
      expect(secFailed(s)).toBe(false);
  });

  it('the SEC_E_* codes psremote words', () => {
    expect(SEC_E).toEqual({
      INSUFFICIENT_MEMORY: 0x80090300,
      INVALID_HANDLE: 0x80090301,
      UNSUPPORTED_FUNCTION: 0x80090302,
      TARGET_UNKNOWN: 0x80090303,
      INTERNAL_ERROR: 0x80090304,
      SECPKG_NOT_FOUND: 0x80090305,
      INVALID_TOKEN: 0x80090308,
      QOP_NOT_SUPPORTED: 0x8009030a,
      LOGON_DENIED: 0x8009030c,
      UNKNOWN_CREDENTIALS: 0x8009030d,
      NO_CREDENTIALS: 0x8009030e,
      MESSAGE_ALTERED: 0x8009030f,
      OUT_OF_SEQUENCE: 0x80090310,
      NO_AUTHENTICATING_AUTHORITY: 0x80090311,
      CONTEXT_EXPIRED: 0x80090317,
      INCOMPLETE_MESSAGE: 0x80090318,
      BUFFER_TOO_SMALL: 0x80090321,
      WRONG_PRINCIPAL: 0x80090322,
      TIME_SKEW: 0x80090324,
      ILLEGAL_MESSAGE: 0x80090326,
      DECRYPT_FAILURE: 0x80090330,
      NO_TGT_REPLY: 0x80090334,
      KDC_UNABLE_TO_REFER: 0x80090341,
      KDC_UNKNOWN_ETYPE: 0x80090342,
      UNSUPPORTED_PREAUTH: 0x80090343,
      BAD_BINDINGS: 0x80090346,
      NO_KERB_KEY: 0x80090348,
      DOWNGRADE_DETECTED: 0x80090350,
      MUTUAL_AUTH_FAILED: 0x80090363,
    });
    for (const code of Object.values(SEC_E)) expect(secFailed(code)).toBe(true);
  });

  it('SEC_E_KDC_UNABLE_TO_REFER reads as the system words it (was a made-up text)', () => {
    expect(sspiStatusText(SEC_E.KDC_UNABLE_TO_REFER)).toBe(
      'The KDC was unable to generate a referral for the service requested.',
    );
  });

  it('SECURITY_STATUS is a LONG: a signed status reads as the unsigned constant', () => {
    expect(secStatus(-2146893044)).toBe(SEC_E.LOGON_DENIED);
    expect(secStatus(SSPI.SEC_I_CONTINUE_NEEDED)).toBe(0x00090312);
    expect(secFailed(-2146893044)).toBe(true);
    expect(sspiStatusText(-2146893044)).toBe('The logon attempt failed');
  });
});
