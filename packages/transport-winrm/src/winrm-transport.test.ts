import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  type BoundValue,
  DEFAULT_SESSION_OPTIONS,
  isPSRemotingError,
  type PSRemotingError,
  RecordingHostUi,
  resolveSessionOptions,
  silentLogger,
  TransportPluginToken,
} from '@psremote/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gssapiAvailable } from './auth/integrated-auth.ts';
import { checkMechanism } from './auth-select.ts';
import { cultureFromEnv, winrmSessionOptions } from './winrm-options.ts';
import { register, resolveWinrmTarget, winrmTransport } from './winrm-transport.ts';

const cred = { userName: 'DOM\\me', password: 'S3cret!' };

function resolve(bound: Record<string, BoundValue>, set: 'ComputerName' | 'Uri' = 'ComputerName') {
  return resolveWinrmTarget({ parameterSet: set, bound });
}

function failure(f: () => unknown): PSRemotingError {
  try {
    f();
  } catch (e) {
    expect(isPSRemotingError(e)).toBe(true);
    return e as PSRemotingError;
  }
  throw new Error('no error');
}

describe('resolveTarget: the ComputerName and Uri sets', () => {
  it('the plugin: name, api range, sets, register', () => {
    expect(winrmTransport.name).toBe('winrm');
    expect(winrmTransport.apiRange).toBe('^2.0.0');
    expect(winrmTransport.parameterSets).toEqual(['ComputerName', 'Uri']);
    const seen: unknown[] = [];
    register({ register: (token, p) => seen.push(token, p.useValue) });
    expect(seen).toEqual([TransportPluginToken, winrmTransport]);
  });

  it('-ComputerName alone: port 5985, /wsman, Microsoft.PowerShell, Default auth, the prompt prefix', () => {
    const t = resolve({ ComputerName: 'srv01', Credential: cred });
    expect(t.endpoint.url).toBe('http://srv01:5985/wsman?PSVersion=2.0');
    expect(t.endpoint.resourceUri).toBe('http://schemas.microsoft.com/powershell/Microsoft.PowerShell');
    expect(t.authentication).toBe('Default');
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[srv01]: ' });
    expect(t.computerName).toBe('srv01');
    expect(t.allowRedirection).toBe(false);
    expect(t.credential?.userName).toBe('DOM\\me');
  });

  it('-UseSSL, -Port, -ApplicationName, -ConfigurationName', () => {
    const t = resolve({
      ComputerName: 'srv01.dom.example',
      UseSSL: true,
      Port: 8443,
      ApplicationName: 'ps',
      ConfigurationName: 'PowerShell.7',
      Authentication: 'Basic',
      Credential: { userName: 'me@dom.example', password: 'x' },
    });
    expect(t.endpoint.url).toBe('https://srv01.dom.example:8443/ps?PSVersion=2.0');
    expect(t.endpoint.resourceUri).toBe('http://schemas.microsoft.com/powershell/PowerShell.7');
    expect(t.authentication).toBe('Basic');
    expect(resolve({ ComputerName: 'srv01', UseSSL: true, Credential: cred }).endpoint.port).toBe(5986);
  });

  it('an IPv6 address is bracketed in the URL and the prompt', () => {
    const t = resolve({ ComputerName: '::1', Credential: cred });
    expect(t.endpoint.url).toBe('http://[::1]:5985/wsman?PSVersion=2.0');
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[[::1]]: ' });
  });

  it('-ConnectionUri: the host in the prompt, -AllowRedirection only there', () => {
    const t = resolve(
      { ConnectionUri: 'https://ps.example.com/PowerShell', AllowRedirection: true, Credential: cred },
      'Uri',
    );
    expect(t.endpoint.url).toBe('https://ps.example.com:443/PowerShell?PSVersion=2.0');
    expect(t.prompt).toEqual({ kind: 'prefix', text: '[ps.example.com]: ' });
    expect(t.allowRedirection).toBe(true);
    expect(
      resolve({ ComputerName: 'srv01', AllowRedirection: true, Credential: cred }).allowRedirection,
    ).toBe(false);
  });

  it('the Uri set without -ConnectionUri, and a relative URI: PowerShell errors', () => {
    expect(failure(() => resolve({ AllowRedirection: true }, 'Uri')).errorId).toBe(
      'CreateRemoteRunspaceFailed',
    );
    const e = failure(() => resolve({ ConnectionUri: 'srv01/wsman', Credential: cred }, 'Uri'));
    expect(e.message).toBe('Relative URIs are not supported in the creation of remote sessions.');
  });

  it('a name .NET cannot parse', () => {
    expect(failure(() => resolve({ ComputerName: 'srv 01', Credential: cred })).message).toBe(
      'Invalid URI: The hostname could not be parsed.',
    );
  });

  describe('-CertificateThumbprint', () => {
    const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'client-certs');
    const PSUSER = 'CA2C4B9673AC9CE8D84352867C47BDB47DC8A44C';
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'psremote-certs-'));
      copyFileSync(join(FIXTURES, 'psuser.pem'), join(dir, 'psuser.pem'));
      chmodSync(join(dir, 'psuser.pem'), 0o600);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const env = () => ({ PSREMOTE_CERT_DIR: dir });
    const resolveWith = (bound: Record<string, BoundValue>) =>
      resolveWinrmTarget({ parameterSet: 'ComputerName', bound }, env());

    it('over HTTPS: the file found, no credential needed, shown in the summary', () => {
      const t = resolveWith({
        ComputerName: 'srv01',
        UseSSL: true,
        CertificateThumbprint: PSUSER.toLowerCase(),
      });
      expect(t.certificate?.certFile).toBe(join(dir, 'psuser.pem'));
      expect(t.summary).toMatchObject({
        url: 'https://srv01:5986/wsman?PSVersion=2.0',
        authentication: 'ClientCertificate',
        certificateThumbprint: PSUSER,
        certificateSubject: 'CN=psuser',
        certificateFile: join(dir, 'psuser.pem'),
        certificateKeyFile: join(dir, 'psuser.pem'),
        certificateKeyEncrypted: false,
      });
    });

    it('over HTTP: refused, whatever the directory holds', () => {
      for (const tp of [PSUSER, '0F0151719EF9411B6C030C52C69B1F203E19BA5E']) {
        const e = failure(() => resolveWith({ ComputerName: 'srv01', CertificateThumbprint: tp }));
        expect(e.message).toBe(
          'Connecting to remote server srv01 failed with the following error message : The WinRM client cannot process the request. Client certificate authentication (-CertificateThumbprint) needs the HTTPS transport, and http://srv01:5985/wsman is HTTP. Use -UseSSL, or an https:// -ConnectionUri. For more information, see the about_Remote_Troubleshooting Help topic.',
        );
        expect(e.errorId).toBe('CreateRemoteRunspaceFailed');
        expect(e.category).toBe('InvalidArgument');
        expect((e.cause as { failure: string }).failure).toBe('HttpNotAllowed');
      }
    });

    it('not found and a malformed thumbprint: PowerShell-style errors naming what is wrong', () => {
      const nf = failure(() =>
        resolveWith({
          ComputerName: 'srv01',
          UseSSL: true,
          CertificateThumbprint: '0F0151719EF9411B6C030C52C69B1F203E19BA5E',
        }),
      );
      expect((nf.cause as { failure: string }).failure).toBe('NotFound');
      expect(nf.message).toContain(`was found in ${dir}`);
      expect(nf.recommendedAction).toContain('PSREMOTE_CERT_DIR');
      const bad = failure(() =>
        resolveWith({ ComputerName: 'srv01', UseSSL: true, CertificateThumbprint: 'AB12' }),
      );
      expect((bad.cause as { failure: string }).failure).toBe('BadThumbprint');
      expect(bad.message).toMatch(
        /^Connecting to remote server srv01 failed with the following error message : The certificate thumbprint "AB12" is not valid/,
      );
    });
    it("with -Credential or an -Authentication other than Default: PowerShell's ambiguity, nothing looked up", () => {
      // PSREMOTE_CERT_DIR points nowhere: the refusal must come before the lookup.
      const go = (extra: Record<string, BoundValue>) =>
        failure(() =>
          resolveWinrmTarget(
            {
              parameterSet: 'ComputerName',
              bound: { ComputerName: 'srv01', UseSSL: true, CertificateThumbprint: PSUSER, ...extra },
            },
            { PSREMOTE_CERT_DIR: join(dir, 'missing') },
          ),
        );
      const c = go({ Credential: cred });
      expect(c.errorId).toBe('NewRunspaceAmbiguousAuthentication');
      expect(c.category).toBe('InvalidOperation');
      expect(c.message).toBe('A CertificateThumbPrint cannot be specified when Credential is specified.');
      const k = go({ Authentication: 'kerberos' });
      expect(k.message).toBe('A CertificateThumbPrint cannot be specified when Kerberos is specified.');
      // Default is what PowerShell allows with a certificate.
      expect(
        resolveWith({
          ComputerName: 'srv01',
          UseSSL: true,
          CertificateThumbprint: PSUSER,
          Authentication: 'Default',
        }).certificate?.thumbprint,
      ).toBe(PSUSER);
    });
  });

  it("-Authentication Credssp resolves with -Credential; without it, WinRM's refusal before connecting", () => {
    expect(
      resolve({ ComputerName: 'srv01', Authentication: 'Credssp', Credential: cred }).authentication,
    ).toBe('Credssp');
    const e = failure(() => resolve({ ComputerName: 'srv01', Authentication: 'Credssp' }));
    expect(e.message).toContain(
      'Requests must include user name and password when CredSSP authentication mechanism is used.',
    );
    expect(e.category).toBe('InvalidArgument');
    expect(e.fullyQualifiedErrorId).toBe(
      'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
    );
  });

  it.each([['Digest', 'Digest authentication']])(
    '-Authentication %s is refused with what is missing',
    (mechanism, text) => {
      const e = failure(() =>
        resolve({ ComputerName: 'srv01', Authentication: mechanism, Credential: cred }),
      );
      expect(e.message).toContain(text);
      expect(e.category).toBe('NotImplemented');
      expect(e.fullyQualifiedErrorId).toBe(
        'CreateRemoteRunspaceFailed,Microsoft.PowerShell.Commands.EnterPSSessionCommand',
      );
    },
  );

  it('Kerberos, implicit credentials and Default without -Credential resolve where GSSAPI loads (it does here)', () => {
    expect(gssapiAvailable()).toBe(true);
    expect(
      resolve({ ComputerName: 'srv01', Authentication: 'Kerberos', Credential: cred }).authentication,
    ).toBe('Kerberos');
    expect(
      resolve({ ComputerName: 'srv01', Authentication: 'NegotiateWithImplicitCredential' }).credential,
    ).toBe(undefined);
    expect(resolve({ ComputerName: 'srv01' }).authentication).toBe('Default');
  });

  it('without the GSSAPI library, what needs Kerberos says what is missing; NTLM with -Credential does not', () => {
    const missing = () => 'libgssapi_krb5.so.2: cannot open shared object file';
    for (const [mechanism, credential] of [
      ['Kerberos', true],
      ['NegotiateWithImplicitCredential', false],
      ['Default', false],
      ['Negotiate', false],
    ] as const) {
      const e = failure(() => checkMechanism(mechanism, credential, 'srv01', missing));
      expect(e.category).toBe('NotInstalled');
      expect(e.message).toContain("needs Kerberos through the system's GSSAPI library");
      expect(e.message).toContain('cannot open shared object file');
      expect(e.recommendedAction).toContain('libgssapi-krb5-2');
    }
    expect(() => checkMechanism('Negotiate', true, 'srv01', missing)).not.toThrow();
    expect(() => checkMechanism('Default', true, 'srv01', missing)).not.toThrow();
  });

  it('Basic needs a credential', () => {
    expect(failure(() => resolve({ ComputerName: 'srv01', Authentication: 'Basic' })).message).toContain(
      'Basic authentication needs a user name and password',
    );
  });

  it('the password never shows: not in JSON, not in inspect, not in errors', () => {
    const t = resolve({ ComputerName: 'srv01', Authentication: 'Basic', Credential: cred });
    expect(JSON.stringify(t)).not.toContain('S3cret!');
    expect(inspect(t, { depth: 5 })).not.toContain('S3cret!');
    expect(t.credential?.reveal()).toBe('S3cret!');
  });
});

describe('connect: refusals before anything is sent', () => {
  const ctx = (sessionOption?: Record<string, string>, env: Record<string, string> = {}) => ({
    hostUi: new RecordingHostUi(),
    signal: new AbortController().signal,
    log: silentLogger,
    env,
    options: sessionOption ? resolveSessionOptions(sessionOption) : DEFAULT_SESSION_OPTIONS,
  });

  it('Basic over HTTP: PowerShell on Unix refuses it; NoEncryption=$true allows it', async () => {
    const t = resolve({ ComputerName: 'srv01', Authentication: 'Basic', Credential: cred });
    const e = await winrmTransport.connect(t, ctx()).catch((x: unknown) => x as PSRemotingError);
    expect((e as PSRemotingError).message).toBe('Basic authentication is not supported over HTTP on Unix.');
    expect((e as PSRemotingError).recommendedAction).toContain('NoEncryption');
    const conn = await winrmTransport.connect(t, ctx({ NoEncryption: 'True' }));
    expect(conn.maxFragmentSize).toBeGreaterThan(100_000);
    expect(conn.maxPayloadSize).toBeGreaterThanOrEqual(conn.maxFragmentSize);
    await conn.close();
    const tls = resolve({ ComputerName: 'srv01', UseSSL: true, Authentication: 'Basic', Credential: cred });
    await (await winrmTransport.connect(tls, ctx())).close();
  });

  it('Default with -Credential is NTLM inside Negotiate: connect sends nothing yet, the password stays hidden', async () => {
    const t = resolve({ ComputerName: 'srv01', Credential: cred });
    const conn = await winrmTransport.connect(t, ctx());
    expect(conn.maxFragmentSize).toBeGreaterThan(100_000);
    expect(JSON.stringify(t)).not.toContain('S3cret!');
    await conn.close();
  });
});

describe('PSREMOTE_CREDSSP_ENCRYPTION_ORACLE at connect', () => {
  const ctx = (value: string) => ({
    hostUi: new RecordingHostUi(),
    signal: new AbortController().signal,
    log: silentLogger,
    env: { PSREMOTE_CREDSSP_ENCRYPTION_ORACLE: value },
    options: DEFAULT_SESSION_OPTIONS,
  });

  it('is read for CredSSP only: a bad value refuses a CredSSP session before connecting, and nothing else', async () => {
    const credssp = resolve({ ComputerName: 'srv01', Authentication: 'Credssp', Credential: cred });
    const negotiate = resolve({ ComputerName: 'srv01', Authentication: 'Negotiate', Credential: cred });
    for (const bad of ['junk', 'constructor', '__proto__']) {
      const e = await winrmTransport.connect(credssp, ctx(bad)).catch((x: unknown) => x);
      expect(isPSRemotingError(e) && e.errorId, bad).toBe('CredSSPEncryptionOracleInvalid');
      await (await winrmTransport.connect(negotiate, ctx(bad))).close();
    }
    await (await winrmTransport.connect(credssp, ctx('Vulnerable'))).close();
  });
});

describe('session options for WinRM', () => {
  it('defaults: 3 min operations, no skips, 5 redirects, the culture of the environment', () => {
    const o = winrmSessionOptions(DEFAULT_SESSION_OPTIONS, { LANG: 'fr_CA.UTF-8' });
    expect(o).toMatchObject({
      operationTimeoutSeconds: 180,
      skipCACheck: false,
      skipCNCheck: false,
      noEncryption: false,
      noMachineProfile: false,
      maximumRedirection: 5,
      culture: 'fr-CA',
      uiCulture: 'fr-CA',
      idleTimeoutMs: -1,
    });
  });

  it('the hashtable values as the binder flattens them, and as --session-option types them', () => {
    const o = winrmSessionOptions(
      resolveSessionOptions({
        SkipCACheck: 'True',
        skipcncheck: 'False',
        NoMachineProfile: true,
        MaximumConnectionRedirectionCount: '-1',
        Culture: 'de-DE',
        UICulture: { kind: 'string', value: 'ja-JP' },
        OperationTimeout: '00:00:30',
        IdleTimeout: '00:10:00',
      }),
      {},
    );
    expect(o).toMatchObject({
      skipCACheck: true,
      skipCNCheck: false,
      noMachineProfile: true,
      culture: 'de-DE',
      uiCulture: 'ja-JP',
      operationTimeoutSeconds: 30,
      idleTimeoutMs: 600_000,
    });
    expect(o.maximumRedirection).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a culture that is no culture name is PowerShell’s conversion error', () => {
    const e = failure(() => winrmSessionOptions(resolveSessionOptions({ Culture: 'not a culture!' }), {}));
    expect(e.errorId).toBe('CannotConvertArgumentNoMessage');
  });

  it('LC_ALL wins over the category and LANG; C and POSIX are en-US', () => {
    expect(cultureFromEnv({ LC_ALL: 'es_ES.UTF-8', LANG: 'de_DE.UTF-8' }, 'LC_MESSAGES')).toBe('es-ES');
    expect(cultureFromEnv({ LC_MESSAGES: 'it_IT', LANG: 'de_DE.UTF-8' }, 'LC_MESSAGES')).toBe('it-IT');
    expect(cultureFromEnv({ LANG: 'C.UTF-8' }, 'LC_NUMERIC')).toBe('en-US');
    expect(cultureFromEnv({ LANG: 'POSIX' }, 'LC_NUMERIC')).toBe('en-US');
    expect(cultureFromEnv({}, 'LC_NUMERIC')).toBe('en-US');
  });
});
