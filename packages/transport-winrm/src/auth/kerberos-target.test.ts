import { describe, expect, it } from 'vitest';
import { kerberosPrincipal } from './gssapi/gss-context.ts';
import { isIpAddress, isLocalhostName, kerberosTarget } from './kerberos-target.ts';

describe('the SPN WinRM asks for', () => {
  it('is HTTP/<host> by default, as a host-based service name', () => {
    expect(kerberosTarget('srv01.corp.example')).toEqual({
      spn: 'HTTP/srv01.corp.example',
      gssName: 'HTTP@srv01.corp.example',
      gssType: 'hostbasedService',
    });
  });
  it('IncludePortInSPN appends the port (a principal name: host-based names have no port)', () => {
    expect(kerberosTarget('srv01', { includePortInSpn: true, port: 5985 })).toEqual({
      spn: 'HTTP/srv01:5985',
      gssName: 'HTTP/srv01:5985',
      gssType: 'krb5PrincipalName',
    });
  });
  it('takes another service (pypsrp uses WSMAN) and strips IPv6 brackets', () => {
    expect(kerberosTarget('srv01', { service: 'WSMAN' }).spn).toBe('WSMAN/srv01');
    expect(kerberosTarget('[fe80::1]').gssName).toBe('HTTP@fe80::1');
  });
  it("knows WinRM's localhost names and IP addresses", () => {
    for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '[::1]', '::1'])
      expect(isLocalhostName(h)).toBe(true);
    for (const h of ['127.0.0.2', 'srv01', 'localhost.corp']) expect(isLocalhostName(h)).toBe(false);
    for (const h of ['10.0.0.1', '[fe80::1]', '::1']) expect(isIpAddress(h)).toBe(true);
    for (const h of ['srv01', '10.0.0.1.example']) expect(isIpAddress(h)).toBe(false);
  });
});

describe('user names as Kerberos principals', () => {
  it('DOMAIN\\user becomes user@DOMAIN; the realm of a UPN is upper-cased; a bare name stays', () => {
    expect(kerberosPrincipal('CORP\\me')).toBe('me@CORP');
    expect(kerberosPrincipal('corp\\me')).toBe('me@CORP');
    expect(kerberosPrincipal('me@corp.example')).toBe('me@CORP.EXAMPLE');
    expect(kerberosPrincipal('me')).toBe('me');
  });
});
