import { describe, expect, it } from 'vitest';
import { guessInstallKind, type InstallFacts, installCommand, thisInstallKind } from './install-hint.ts';

const unix = (packageDir: string, more: Partial<InstallFacts> = {}): InstallFacts => ({
  packageDir,
  env: {},
  platform: 'linux',
  execPath: '/usr/bin/node',
  exists: () => false,
  ...more,
});

describe('guessInstallKind', () => {
  it("npm's default global prefix (the parent of node's bin folder)", () => {
    expect(guessInstallKind(unix('/usr/lib/node_modules/@psremote/cli'))).toBe('global');
    expect(
      guessInstallKind(
        unix('/home/me/.nvm/versions/node/v22.1.0/lib/node_modules/@psremote/cli', {
          execPath: '/home/me/.nvm/versions/node/v22.1.0/bin/node',
        }),
      ),
    ).toBe('global');
  });
  it('a configured prefix (npm_config_prefix), or one whose bin/psremote npm linked', () => {
    const dir = '/home/me/.npm-global/lib/node_modules/@psremote/cli';
    expect(guessInstallKind(unix(dir, { env: { npm_config_prefix: '/home/me/.npm-global' } }))).toBe(
      'global',
    );
    expect(guessInstallKind(unix(dir, { env: { NPM_CONFIG_PREFIX: '/home/me/.npm-global' } }))).toBe(
      'global',
    );
    expect(guessInstallKind(unix(dir, { exists: (p) => p === '/home/me/.npm-global/bin/psremote' }))).toBe(
      'global',
    );
    // The same layout with no psremote linked beside it and no prefix saying so is not taken for global.
    expect(guessInstallKind(unix(dir))).toBe('local');
  });
  it("a project's node_modules is local, also as a dependency of a dependency", () => {
    expect(guessInstallKind(unix('/work/app/node_modules/@psremote/cli'))).toBe('local');
    expect(guessInstallKind(unix('/work/app/node_modules/tool/node_modules/@psremote/cli'))).toBe('local');
    // A project that happens to live under the global prefix's folder name is not global.
    expect(guessInstallKind(unix('/usr/src/app/node_modules/@psremote/cli'))).toBe('local');
  });
  it('a checkout of the repository (no node_modules on the path) is local', () => {
    expect(guessInstallKind(unix('/work/psremote/packages/cli'))).toBe('local');
  });
  it('Windows: %APPDATA%\\npm\\node_modules is global, a project is local', () => {
    const win = (packageDir: string): InstallFacts => ({
      packageDir,
      env: { APPDATA: 'C:\\Users\\me\\AppData\\Roaming' },
      platform: 'win32',
      execPath: 'C:\\Program Files\\nodejs\\node.exe',
      exists: () => false,
    });
    if (process.platform !== 'win32') return;
    expect(guessInstallKind(win('C:\\Users\\me\\AppData\\Roaming\\npm\\node_modules\\@psremote\\cli'))).toBe(
      'global',
    );
    expect(guessInstallKind(win('C:\\src\\app\\node_modules\\@psremote\\cli'))).toBe('local');
  });
  it('pnpm (global and local) and npx', () => {
    expect(
      guessInstallKind(
        unix(
          '/home/me/.local/share/pnpm/global/5/node_modules/.pnpm/@psremote+cli@0.1.0/node_modules/@psremote/cli',
        ),
      ),
    ).toBe('pnpm-global');
    expect(
      guessInstallKind(unix('/work/app/node_modules/.pnpm/@psremote+cli@0.1.0/node_modules/@psremote/cli')),
    ).toBe('pnpm-local');
    expect(guessInstallKind(unix('/home/me/.npm/_npx/1a2b3c/node_modules/@psremote/cli'))).toBe('npx');
  });
  it('this checkout is a local install', () => {
    expect(thisInstallKind({})).toBe('local');
  });
});

describe('installCommand', () => {
  it('global: npm install -g; local: npm install', () => {
    expect(installCommand('@psremote/transport-ssh', 'global')).toBe(
      'npm install -g @psremote/transport-ssh',
    );
    expect(installCommand('@psremote/transport-ssh', 'local')).toBe('npm install @psremote/transport-ssh');
    expect(installCommand('@psremote/transport-ssh', 'pnpm-global')).toBe(
      'pnpm add -g @psremote/transport-ssh',
    );
  });
});
