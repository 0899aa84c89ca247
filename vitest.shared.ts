import { defaultClientConditions, defaultServerConditions } from 'vite';
import type { UserWorkspaceConfig } from 'vitest/config';

/**
 * Shared per-package vitest settings: workspace siblings resolve to their TypeScript sources through the
 * `@psremote/source` export condition, so tests never need a build of the packages they import.
 */
export function packageProject(name: string, extra: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return {
    resolve: { conditions: ['@psremote/source', ...defaultClientConditions] },
    ssr: { resolve: { conditions: ['@psremote/source', ...defaultServerConditions] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 600_000,
      ...extra,
    },
  };
}
