import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { endpointFromComputerName, endpointFromConnectionUri } from '../src/url/wsman-endpoint.ts';

/**
 * The URL rules checked live against PowerShell itself: pwsh builds WSManConnectionInfo as Enter-PSSession does
 * and computes the connection string as WSManClientSessionTransportManager.Initialize does (GetConnectionString,
 * then `?PSVersion=`/`;PSVersion=`). No WinRM is needed for that, so it runs on Linux.
 */
const PWSH = [process.env.PSREMOTE_PWSH, join(homedir(), '.dotnet/tools/pwsh'), '/usr/bin/pwsh'].find(
  (p) => p && existsSync(p),
);
if (!PWSH) {
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error('PSREMOTE_REQUIRE_PEERS=1 but pwsh is missing');
  console.warn('[transport-winrm] pwsh not found: the live WSManConnectionInfo comparison skips');
}

interface Case {
  readonly cn?: string;
  readonly port?: number;
  readonly app?: string;
  readonly cfg?: string;
  readonly ssl?: boolean;
  readonly uri?: string;
}

const CASES: Case[] = [
  { cn: 'srv01' },
  { cn: 'srv01', ssl: true },
  { cn: 'srv01', port: 5985 },
  { cn: 'srv01', port: 443, ssl: true },
  { cn: 'srv01', port: 8080, app: 'myapp', cfg: 'Other', ssl: true },
  { cn: 'srv01', app: '/custom/', cfg: 'http://schemas.microsoft.com/powershell/Microsoft.PowerShell32' },
  { cn: 'srv01', cfg: 'http://example.com/x' },
  { cn: '.' },
  { cn: '::1' },
  { cn: '[::1]', port: 5986, ssl: true },
  { cn: ' SRV01.Example.COM ' },
  { cn: 'srv01', app: 'a b' },
  { cn: 'srv 01' },
  { cn: 'srv..x' },
  { uri: 'http://srv01' },
  { uri: 'https://srv01' },
  { uri: 'http://srv01:5985/' },
  { uri: 'https://srv01:5986/wsman' },
  { uri: 'http://srv01/wsman?a=b' },
  { uri: 'http://srv01/?a=b' },
  { uri: 'http://srv01:0' },
  { uri: 'HTTP://SRV01:8080/Custom/Path', cfg: 'JEA' },
  { uri: 'http://[::1]' },
  { uri: 'srv01' },
  { uri: 'ftp://srv01' },
];

const SCRIPT = `
$ErrorActionPreference = 'Stop'
$t = [System.Management.Automation.Runspaces.WSManConnectionInfo]
$bf = [Reflection.BindingFlags]'NonPublic,Instance,Public'
$useDef = $t.GetProperty('UseDefaultWSManPort', $bf)
$gcs = $t.GetMethod('GetConnectionString', [Reflection.BindingFlags]'NonPublic,Static')
$out = foreach ($c in ($input | Out-String | ConvertFrom-Json)) {
  try {
    $ci = [System.Management.Automation.Runspaces.WSManConnectionInfo]::new()
    if ($null -ne $c.uri) {
      $ci.ConnectionUri = [uri]::new([string]$c.uri, [UriKind]::RelativeOrAbsolute)
      $ci.ShellUri = $c.cfg
    } else {
      $ci.ComputerName = $(if ($c.cn -eq '.') { 'localhost' } else { $c.cn })
      $ci.Port = [int]$c.port
      $ci.AppName = $c.app
      $ci.ShellUri = $c.cfg
      $ci.Scheme = $(if ($c.ssl) { 'https' } else { 'http' })
    }
    $u = $ci.ConnectionUri
    $cs = $u.OriginalString
    if ($useDef.GetValue($ci)) { $cs = $gcs.Invoke($null, @($u, $false)) }
    if ([string]::IsNullOrEmpty($u.Query)) { $cs = $cs.TrimEnd('/') + '?PSVersion=7.6.9' } else { $cs = $cs + ';PSVersion=7.6.9' }
    [pscustomobject]@{ ok = $true; cn = $ci.ComputerName; cs = $cs; shell = $ci.ShellUri; err = $null }
  } catch {
    $e = $_.Exception; while ($e.InnerException) { $e = $e.InnerException }
    [pscustomobject]@{ ok = $false; cn = $null; cs = $null; shell = $null; err = $e.Message }
  }
}
ConvertTo-Json -InputObject @($out) -Compress
`;

describe.skipIf(!PWSH)('endpoint rules equal pwsh WSManConnectionInfo, live', () => {
  it(`agrees on ${CASES.length} targets`, { timeout: 120_000 }, () => {
    const raw = execFileSync(PWSH as string, ['-NoProfile', '-NonInteractive', '-Command', SCRIPT], {
      input: JSON.stringify(CASES),
      encoding: 'utf8',
      timeout: 120_000,
    });
    const theirs = JSON.parse(raw) as Array<{
      ok: boolean;
      cn: string;
      cs: string;
      shell: string;
      err: string;
    }>;
    expect(theirs).toHaveLength(CASES.length);
    CASES.forEach((c, i) => {
      const want = theirs[i] as (typeof theirs)[number];
      let mine: { ok: boolean; cn?: string; cs?: string; shell?: string; err?: string };
      try {
        const e =
          c.uri !== undefined
            ? endpointFromConnectionUri({
                connectionUri: c.uri,
                psVersion: '7.6.9',
                ...(c.cfg ? { configurationName: c.cfg } : {}),
              })
            : endpointFromComputerName({
                computerName: c.cn as string,
                psVersion: '7.6.9',
                ...(c.port ? { port: c.port } : {}),
                ...(c.app ? { applicationName: c.app } : {}),
                ...(c.cfg ? { configurationName: c.cfg } : {}),
                ...(c.ssl ? { useSSL: true } : {}),
              });
        mine = { ok: true, cn: e.computerName, cs: e.connectionString, shell: e.resourceUri };
      } catch (e) {
        if (!isPSRemotingError(e)) throw e;
        mine = { ok: false, err: e.message };
      }
      const label = JSON.stringify(c);
      if (want.ok)
        expect({ label, ...mine }).toEqual({ label, ok: true, cn: want.cn, cs: want.cs, shell: want.shell });
      else expect({ label, ok: mine.ok, err: mine.err }).toEqual({ label, ok: false, err: want.err });
    });
  });
});
