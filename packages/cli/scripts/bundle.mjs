// Builds dist/run.bundle.cjs: dist/run.js with the CLI's own modules, core, psrp and transport-process in one
// CommonJS file. bin.js runs it for the commands on a session the agent holds (their time to the first prompt,
// issue 13) through a V8 code cache (src/bundle-loader.ts), which needs a script rather than an ES module on
// Node 20. Node built-ins and every other package (tsyringe, the transports, node-pty) stay imports.
//
// The file is ASCII (other characters written as \u escapes: they occur only in strings and comments), without
// comments, and its first line carries an id made from its content: the code cache is kept per id.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const INLINED = /^@psremote\/(core|psrp|transport-process)(\/|$)/;
const ID_PLACEHOLDER = '0'.repeat(16);
const file = `${dist}run.bundle.cjs`;

await build({
  input: `${dist}run.js`,
  platform: 'node',
  // Resolve the packages' built dist (their "default" export), never their sources.
  resolve: { conditionNames: ['import', 'default'] },
  external: (id) => !(id.startsWith('.') || id.startsWith('/') || INLINED.test(id)),
  output: {
    file,
    format: 'cjs',
    codeSplitting: false,
    sourcemap: true,
    comments: false,
    banner: `// psremote-bundle ${ID_PLACEHOLDER}`,
  },
  logLevel: 'warn',
});

// Same length replacements only, so the source map stays right.
let text = readFileSync(file, 'utf8').replace(/[^\x00-\x7f]/gu, (c) =>
  c.length === 1
    ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
    : [...c.split('')].map((u) => `\\u${u.charCodeAt(0).toString(16)}`).join(''),
);
const id = createHash('sha256').update(text).digest('hex').slice(0, ID_PLACEHOLDER.length);
text = text.replace(`// psremote-bundle ${ID_PLACEHOLDER}`, `// psremote-bundle ${id}`);
writeFileSync(file, text);
// dist/bin.cjs, package.json's `psremote`: bin.js with fast-path.ts and what it imports, as one CommonJS file
// (Node then starts without its ES module loader). run.js, loaded for the other commands, stays an import.
await build({
  input: `${dist}bin.js`,
  platform: 'node',
  external: (id) => !(id.startsWith('.') || id.startsWith('/')) || /(^|\/)run\.js$/.test(id),
  output: { file: `${dist}bin.cjs`, format: 'cjs', codeSplitting: false, sourcemap: true },
  logLevel: 'warn',
});
if (!readFileSync(`${dist}bin.cjs`, 'utf8').startsWith('#!/usr/bin/env node\n'))
  throw new Error('dist/bin.cjs lost its #! line');

// The ES module bundle of earlier builds is not used any more.
rmSync(`${dist}run.bundle.js`, { force: true });
rmSync(`${dist}run.bundle.js.map`, { force: true });
