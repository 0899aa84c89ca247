import { describe, expect, it } from 'vitest';
import { childEnvironment } from './child-environment.ts';

const user = {
  PATH: '/home/me/bin:/usr/bin',
  HOME: '/home/me',
  LANG: 'en_US.UTF-8',
  SSH_AUTH_SOCK: '/tmp/agent.1',
  PSModulePath: '/home/me/modules',
  NODE_EXTRA_CA_CERTS: '/etc/corp-ca.pem',
  NPM_CONFIG_PREFIX: '/home/me/.npm-global',
};

describe('childEnvironment', () => {
  it("passes the user's environment as it is", () => {
    expect(childEnvironment(user, ':')).toEqual(user);
  });

  it("leaves out psremote's own settings and Node's settings for the psremote process", () => {
    const env = childEnvironment(
      {
        ...user,
        PSREMOTE_PWSH: '/opt/pwsh',
        PSREMOTE_TRANSPORTS: 'x',
        PSREMOTE_DEBUG: '1',
        NODE_OPTIONS: '--require /tmp/hook.js',
        NODE_CHANNEL_FD: '3',
        NODE_UNIQUE_ID: '1',
        UNSET: undefined,
      },
      ':',
    );
    expect(env).toEqual(user);
  });

  it('when npm started psremote (npx, npm exec): leaves out what npm added, and the folders it put before PATH', () => {
    const env = childEnvironment(
      {
        ...user,
        PATH: '/app/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/home/me/bin:/usr/bin',
        npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64 workspaces/false',
        npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
        npm_lifecycle_event: 'npx',
        npm_config_cache: '/home/me/.npm',
        npm_package_name: 'app',
        INIT_CWD: '/app',
        NODE: '/usr/bin/node',
        COLOR: '0',
      },
      ':',
    );
    expect(env).toEqual(user);
  });

  it('pnpm exec and yarn berry too; a node_modules/.bin the user had later in PATH stays', () => {
    const pnpm = childEnvironment(
      {
        ...user,
        PATH: '/app/node_modules/.bin:/app/node_modules/.bin:/home/me/bin:/usr/bin:./node_modules/.bin',
        npm_config_user_agent: 'pnpm/12.4.2 npm/? node/? linux x64',
        PNPM_PACKAGE_NAME: 'app',
        pnpm_config_verify_deps_before_run: 'false',
        PNPM_HOME: '/home/me/.local/share/pnpm',
      },
      ':',
    );
    expect(pnpm).toEqual({
      ...user,
      PATH: '/home/me/bin:/usr/bin:./node_modules/.bin',
      PNPM_HOME: '/home/me/.local/share/pnpm',
    });
    const yarn = childEnvironment(
      {
        ...user,
        PATH: '/tmp/xfs-1234/:/app/node_modules/.bin:/home/me/bin:/usr/bin',
        npm_execpath: '/app/.yarn/releases/yarn.cjs',
        BERRY_BIN_FOLDER: '/tmp/xfs-1234',
        PROJECT_CWD: '/app',
      },
      ':',
    );
    expect(yarn).toEqual(user);
  });

  it("without a package manager, npm_* variables are the user's and stay; names match case-insensitively", () => {
    expect(childEnvironment({ ...user, npm_config_registry: 'https://r.example' }, ':')).toEqual({
      ...user,
      npm_config_registry: 'https://r.example',
    });
    const win = childEnvironment(
      {
        Path: 'C:\\app\\node_modules\\.bin;C:\\Windows',
        Node_Options: '--inspect',
        Psremote_Pwsh: 'C:\\pwsh.exe',
        npm_config_user_agent: 'npm/11',
        npm_config_cache: 'C:\\npm-cache',
      },
      ';',
    );
    expect(win).toEqual({ Path: 'C:\\Windows' });
  });
});
