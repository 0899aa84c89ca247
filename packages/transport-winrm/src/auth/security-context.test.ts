import { afterEach, describe, expect, it } from 'vitest';
import { GssUnavailableError } from './gssapi/gss-errors.ts';
import { gssapiStatus, kerberosStatus } from './integrated-auth.ts';
import { loadSecurityProvider } from './security-context.ts';
import { systemDll } from './sspi/sspi-ffi.ts';

// Which library the factory picks. On win32 it must be SSPI (secur32.dll), never GSSAPI; on this Linux machine the
// DLL cannot load, which shows the choice and the error users would get without it.
const realPlatform = process.platform;
const realArch = process.arch;
function pretend(platform: NodeJS.Platform, arch: string = realArch) {
  Object.defineProperty(process, 'platform', { value: platform, configurable: true });
  Object.defineProperty(process, 'arch', { value: arch, configurable: true });
}

describe('loadSecurityProvider', () => {
  afterEach(() => pretend(realPlatform, realArch));

  it('off Windows: GSSAPI', () => {
    if (realPlatform === 'win32') return;
    const status = kerberosStatus();
    if (status.available) expect(loadSecurityProvider().kind).toBe('gssapi');
    // Without the system library: the GSSAPI error (not SSPI's).
    else expect(status.error.message).toMatch(/GSSAPI|koffi/);
  });

  it('on win32: SSPI from secur32.dll; without it, KerberosNotAvailable naming the DLL', () => {
    pretend('win32', 'x64');
    let err: unknown;
    try {
      loadSecurityProvider();
    } catch (e) {
      err = e;
    }
    if (realPlatform === 'win32') return; // there it loads
    expect(err).toBeInstanceOf(GssUnavailableError);
    expect((err as GssUnavailableError).errorId).toBe('KerberosNotAvailable');
    expect((err as GssUnavailableError).reason).toBe('LibraryMissing');
    expect((err as Error).message).toMatch(
      /^Kerberos needs secur32\.dll( \(.*\))?, and it could not be loaded/,
    );
    const status = kerberosStatus();
    expect(status.available).toBe(false);
    // GSSAPI itself is never used on Windows (CredSSP's inner Kerberos asks for it and goes on with NTLM).
    const gss = gssapiStatus();
    expect(gss.available).toBe(false);
    expect(!gss.available && gss.error.reason).toBe('Windows');
  });

  it('secur32.dll is loaded from System32 by full path, not found by the DLL search order', () => {
    const saved = process.env.SystemRoot;
    process.env.SystemRoot = 'C:\\Windows';
    pretend('win32', 'x64');
    try {
      if (realPlatform === 'win32') return;
      expect(() => loadSecurityProvider()).toThrow(
        /^Kerberos needs secur32\.dll \(C:\\Windows\\System32\\secur32\.dll\), and it could not be loaded/,
      );
    } finally {
      if (saved === undefined) delete process.env.SystemRoot;
      else process.env.SystemRoot = saved;
    }
    expect(systemDll('secur32.dll', { windir: 'D:\\WINNT' })).toBe('D:\\WINNT\\System32\\secur32.dll');
    expect(systemDll('secur32.dll', {})).toBe('secur32.dll');
  });

  it('on 32-bit Windows: not implemented, said so', () => {
    pretend('win32', 'ia32');
    expect(() => loadSecurityProvider()).toThrow(/implemented for 64-bit Windows \(x64, arm64\), not ia32/);
  });
});
