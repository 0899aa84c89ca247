// Builds dist/run.bundle.js: dist/run.js with the CLI's own modules, core, psrp and transport-process in one file.
// bin.js runs it for the commands on a session the agent holds (their time to the first prompt, issue 13). Node
// built-ins and every other package (tsyringe, the transports, node-pty) stay imports.
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const INLINED = /^@psremote\/(core|psrp|transport-process)(\/|$)/;

await build({
  input: `${dist}run.js`,
  platform: 'node',
  // Resolve the packages' built dist (their "default" export), never their sources.
  resolve: { conditionNames: ['import', 'default'] },
  external: (id) => !(id.startsWith('.') || id.startsWith('/') || INLINED.test(id)),
  output: { file: `${dist}run.bundle.js`, format: 'esm', codeSplitting: false, sourcemap: true },
  logLevel: 'warn',
});
