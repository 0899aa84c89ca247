// Imports a test peer module (TypeScript that uses node builtins only), compiled for Node with the workspace's tsc
// into bench/.build/<subdir>: the benchmarks start the same peers the tests start.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** `path` is relative to the repository root, e.g. `packages/transport-ssh/test/ssh-peer.ts`. */
export async function importPeer(path, subdir = '') {
  const out = join(here, '.build', subdir);
  mkdirSync(out, { recursive: true });
  execFileSync(
    join(root, 'node_modules/.bin/tsc'),
    [
      join(root, path),
      '--outDir',
      out,
      '--module',
      'nodenext',
      '--target',
      'es2023',
      '--types',
      'node',
      '--skipLibCheck',
      '--ignoreConfig',
    ],
    { stdio: 'inherit' },
  );
  const name = path.split('/').pop().replace(/\.ts$/, '.js');
  return import(pathToFileURL(join(out, name)).href);
}
