import { isPSRemotingError, type PSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import {
  type ComputerNameTarget,
  endpointFromComputerName,
  endpointFromConnectionUri,
  resolveShellUri,
} from './wsman-endpoint.ts';

// Every expected value below was printed by pwsh 7.6.9 on Linux: WSManConnectionInfo built as Enter-PSSession
// builds it (ComputerName, Port, AppName, ShellUri, Scheme; or ConnectionUri, ShellUri), the connection string
// computed as WSManClientSessionTransportManager.Initialize does (GetConnectionString + `?PSVersion=`).
// `cn` is WSManConnectionInfo.ComputerName, `cs` the connection string handed to WinRM.
const PS = '7.6.9';

function caught(f: () => unknown): PSRemotingError {
  try {
    f();
  } catch (e) {
    if (isPSRemotingError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('ComputerName set (pwsh 7.6.9 WSManConnectionInfo)', () => {
  const cases: Array<[ComputerNameTarget, { cn: string; cs: string; shell: string; url: string }]> = [
    [
      { computerName: 'srv01' },
      {
        cn: 'srv01',
        cs: 'srv01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', useSSL: true },
      {
        cn: 'srv01',
        cs: 'srv01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'https://srv01:5986/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', port: 5985 },
      {
        cn: 'srv01',
        cs: 'http://srv01:5985/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', port: 80 },
      {
        cn: 'srv01',
        cs: 'http://srv01:80/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:80/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', port: 443, useSSL: true },
      {
        cn: 'srv01',
        cs: 'https://srv01:443/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'https://srv01:443/wsman?PSVersion=7.6.9',
      },
    ],
    [
      {
        computerName: 'srv01',
        port: 8080,
        applicationName: 'myapp',
        configurationName: 'Other',
        useSSL: true,
      },
      {
        cn: 'srv01',
        cs: 'https://srv01:8080/myapp?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Other',
        url: 'https://srv01:8080/myapp?PSVersion=7.6.9',
      },
    ],
    [
      {
        computerName: 'srv01',
        applicationName: '/custom/',
        configurationName: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell32',
      },
      {
        cn: 'srv01',
        cs: 'srv01/custom?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell32',
        url: 'http://srv01:5985/custom?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', applicationName: 'wsman', configurationName: 'http://example.com/x' },
      {
        cn: 'srv01',
        cs: 'srv01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/http://example.com/x',
        url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', configurationName: 'microsoft.powershell' },
      {
        cn: 'srv01',
        cs: 'srv01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/microsoft.powershell',
        url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: '.' },
      {
        cn: 'localhost',
        cs: 'localhost/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://localhost:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'localhost' },
      {
        cn: 'localhost',
        cs: 'localhost/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://localhost:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: '::1' },
      {
        cn: '[::1]',
        cs: '[::1]/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://[::1]:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: '[::1]' },
      {
        cn: '[::1]',
        cs: '[::1]/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://[::1]:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: '2001:db8::1', port: 5986, useSSL: true },
      {
        cn: '[2001:db8::1]',
        cs: 'https://[2001:db8::1]:5986/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'https://[2001:db8::1]:5986/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: '192.168.1.10' },
      {
        cn: '192.168.1.10',
        cs: '192.168.1.10/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://192.168.1.10:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: ' srv01 ' },
      {
        cn: 'srv01',
        cs: 'srv01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'SRV01.Example.COM' },
      {
        cn: 'SRV01.Example.COM',
        cs: 'SRV01.Example.COM/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://SRV01.Example.COM:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv_01' },
      {
        cn: 'srv_01',
        cs: 'srv_01/wsman?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv_01:5985/wsman?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', applicationName: 'a b' },
      {
        cn: 'srv01',
        cs: 'srv01/a%20b?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/a%20b?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', applicationName: 'a?b=1' },
      {
        cn: 'srv01',
        cs: 'srv01/a%3Fb=1?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/a%3Fb=1?PSVersion=7.6.9',
      },
    ],
    [
      { computerName: 'srv01', applicationName: 'a#b' },
      {
        cn: 'srv01',
        cs: 'srv01/a%23b?PSVersion=7.6.9',
        shell: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
        url: 'http://srv01:5985/a%23b?PSVersion=7.6.9',
      },
    ],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)}`, () => {
      const e = endpointFromComputerName({ ...input, psVersion: PS });
      expect({ cn: e.computerName, cs: e.connectionString, shell: e.resourceUri, url: e.url }).toEqual(want);
    });
  }

  it('gives the host to connect to without brackets, and the default-port flag', () => {
    const e = endpointFromComputerName({ computerName: 'fe80::1%eth0' });
    expect(e.computerName).toBe('[fe80::1%eth0]');
    expect(e.host).toBe('fe80::1%eth0');
    expect(e.usesDefaultWinRMPort).toBe(true);
    expect(endpointFromComputerName({ computerName: 'h', port: 1 }).usesDefaultWinRMPort).toBe(false);
  });

  it('sends ?PSVersion=2.0 by default (the version psremote announces in SESSION_CAPABILITY)', () => {
    expect(endpointFromComputerName({ computerName: 'srv01' }).url).toBe(
      'http://srv01:5985/wsman?PSVersion=2.0',
    );
  });

  // pwsh 7.6.9: `Enter-PSSession -ComputerName 'srv 01'` is a terminating System.UriFormatException.
  for (const bad of ['srv 01', 'a:b', 'srv01:5985', 'srv..x', 'srv%01', '*', '1::2::3']) {
    it(`refuses ${JSON.stringify(bad)} as pwsh does (UriFormatException)`, () => {
      const err = caught(() => endpointFromComputerName({ computerName: bad }));
      expect(err.errorId).toBe('System.UriFormatException');
      expect(err.category).toBe('NotSpecified');
      expect(err.message).toBe('Invalid URI: The hostname could not be parsed.');
    });
  }
  // pwsh builds a URI to another host or path from these; psremote refuses them instead.
  for (const odd of ['srv@01', 'srv/01', 'srv01#x', '[::1]:5985']) {
    it(`refuses ${JSON.stringify(odd)} (pwsh would connect elsewhere)`, () => {
      expect(caught(() => endpointFromComputerName({ computerName: odd })).errorId).toBe(
        'System.UriFormatException',
      );
    });
  }
  // pwsh accepts these names (they reach WinRM).
  for (const ok of ['srv01.', '-srv', '1.2.3.4.5', '256.1.1.1', '::ffff:1.2.3.4', 'bücher.example']) {
    it(`accepts ${JSON.stringify(ok)} as pwsh does`, () => {
      expect(() => endpointFromComputerName({ computerName: ok })).not.toThrow();
    });
  }

  it('PortIsOutOfRange as WSManConnectionInfo words it', () => {
    const err = caught(() => endpointFromComputerName({ computerName: 'srv01', port: 65536 }));
    expect(err.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(err.category).toBe('InvalidArgument');
    expect(err.message).toBe(
      'The port number 65536 is not within the range of valid values. The range of valid values is between 1 and 65535.',
    );
    expect(caught(() => endpointFromComputerName({ computerName: 'srv01', port: -1 })).message).toContain(
      'The port number -1 ',
    );
  });
});

describe('Uri set (pwsh 7.6.9 WSManConnectionInfo.ConnectionUri)', () => {
  const cases: Array<[string, string | undefined, { cn: string; cs: string; url: string; shell?: string }]> =
    [
      [
        'http://srv01',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:80/wsman?PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'https://srv01',
        undefined,
        {
          cn: 'srv01',
          cs: 'https://srv01:443/wsman?PSVersion=7.6.9',
          url: 'https://srv01:443/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01/',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:80/wsman?PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01:5985',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:5985/wsman?PSVersion=7.6.9',
          url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01:5985/',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:5985/wsman?PSVersion=7.6.9',
          url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'https://srv01:5986/wsman',
        undefined,
        {
          cn: 'srv01',
          cs: 'https://srv01:5986/wsman?PSVersion=7.6.9',
          url: 'https://srv01:5986/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01/wsman',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01/wsman?PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01:80/wsman',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:80/wsman?PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01:8080/custom/path',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:8080/custom/path?PSVersion=7.6.9',
          url: 'http://srv01:8080/custom/path?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01/?a=b',
        undefined,
        { cn: 'srv01', cs: 'http://srv01/?a=b;PSVersion=7.6.9', url: 'http://srv01:80/?a=b;PSVersion=7.6.9' },
      ],
      [
        'http://srv01/wsman?a=b',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01/wsman?a=b;PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?a=b;PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01/#frag',
        undefined,
        { cn: 'srv01', cs: 'http://srv01/#frag?PSVersion=7.6.9', url: 'http://srv01:80/?PSVersion=7.6.9' },
      ],
      [
        'HTTP://SRV01',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:80/wsman?PSVersion=7.6.9',
          url: 'http://srv01:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://[::1]',
        undefined,
        {
          cn: '[::1]',
          cs: 'http://[::1]:80/wsman?PSVersion=7.6.9',
          url: 'http://[::1]:80/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://[::1]:5985/wsman',
        undefined,
        {
          cn: '[::1]',
          cs: 'http://[::1]:5985/wsman?PSVersion=7.6.9',
          url: 'http://[::1]:5985/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01/WSMAN',
        'Foo',
        {
          cn: 'srv01',
          cs: 'http://srv01/WSMAN?PSVersion=7.6.9',
          url: 'http://srv01:80/WSMAN?PSVersion=7.6.9',
          shell: 'http://schemas.microsoft.com/powershell/Foo',
        },
      ],
      [
        'http://srv01:0',
        undefined,
        { cn: 'srv01', cs: 'srv01/wsman?PSVersion=7.6.9', url: 'http://srv01:5985/wsman?PSVersion=7.6.9' },
      ],
      [
        'http://srv01/a b',
        undefined,
        { cn: 'srv01', cs: 'http://srv01/a b?PSVersion=7.6.9', url: 'http://srv01:80/a%20b?PSVersion=7.6.9' },
      ],
      [
        'http://Srv01.Example.com:5985',
        undefined,
        {
          cn: 'srv01.example.com',
          cs: 'http://srv01.example.com:5985/wsman?PSVersion=7.6.9',
          url: 'http://srv01.example.com:5985/wsman?PSVersion=7.6.9',
        },
      ],
      [
        'http://srv01:05985',
        undefined,
        {
          cn: 'srv01',
          cs: 'http://srv01:5985/wsman?PSVersion=7.6.9',
          url: 'http://srv01:5985/wsman?PSVersion=7.6.9',
        },
      ],
    ];
  for (const [uri, cfg, want] of cases) {
    it(`${uri}${cfg ? ` (${cfg})` : ''}`, () => {
      const e = endpointFromConnectionUri({
        connectionUri: uri,
        psVersion: PS,
        ...(cfg ? { configurationName: cfg } : {}),
      });
      expect({ cn: e.computerName, cs: e.connectionString, url: e.url }).toEqual({
        cn: want.cn,
        cs: want.cs,
        url: want.url,
      });
      expect(e.resourceUri).toBe(
        want.shell ?? 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell',
      );
    });
  }

  // pwsh 7.6.9: CreateRemoteRunspaceFailed, InvalidArgument, NotSupportedException.
  for (const rel of ['srv01', '/wsman', 'http:srv01', 'http:/srv01']) {
    it(`refuses the relative URI ${rel}`, () => {
      const err = caught(() => endpointFromConnectionUri({ connectionUri: rel }));
      expect(err.errorId).toBe('CreateRemoteRunspaceFailed');
      expect(err.category).toBe('InvalidArgument');
      expect(err.message).toBe('Relative URIs are not supported in the creation of remote sessions.');
      expect(err.targetObject).toBe(rel);
    });
  }

  it('refuses another scheme with InvalidSchemeValue', () => {
    const err = caught(() => endpointFromConnectionUri({ connectionUri: 'ftp://srv01' }));
    expect(err.errorId).toBe('CreateRemoteRunspaceFailed');
    expect(err.message).toBe('ftp is not a valid schema value. Valid values are "http" and "https".');
    // pwsh passes ftp://srv01/wsman through to WinRM; psremote refuses it the same way.
    expect(caught(() => endpointFromConnectionUri({ connectionUri: 'ftp://srv01/wsman' })).message).toContain(
      'ftp is not a valid schema value',
    );
  });

  it('refuses a host .NET cannot parse as the parameter binder does', () => {
    const err = caught(() => endpointFromConnectionUri({ connectionUri: 'http://srv 01/' }));
    expect(err.errorId).toBe('CannotConvertArgumentNoMessage');
  });
});

describe('resolveShellUri (WSManConnectionInfo.ResolveShellUri)', () => {
  it('prefixes names and keeps URIs under the PowerShell prefix, in any case', () => {
    expect(resolveShellUri(undefined)).toBe('http://schemas.microsoft.com/powershell/Microsoft.PowerShell');
    expect(resolveShellUri('')).toBe('http://schemas.microsoft.com/powershell/Microsoft.PowerShell');
    expect(resolveShellUri('JEA')).toBe('http://schemas.microsoft.com/powershell/JEA');
    expect(resolveShellUri('HTTP://SCHEMAS.MICROSOFT.COM/POWERSHELL/x')).toBe(
      'HTTP://SCHEMAS.MICROSOFT.COM/POWERSHELL/x',
    );
  });
});
