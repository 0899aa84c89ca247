#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { type CliModule, connectEarly, loadBundle, usesHeldSession } from './fast-path.ts';

// package.json's `psremote` is dist/bin.cjs: this file and fast-path.ts in one CommonJS file (scripts/bundle.mjs),
// as Node starts a CommonJS entry without setting up its ES module loader first (~10 ms of a loaded 2-core
// machine). dist/bin.js, this file as tsc emits it, does the same.
//
// A command on a session the agent holds (enter/invoke/get/remove -Id|-Name|-InstanceId) wants its first prompt
// soon: it runs from dist/run.bundle.cjs, the same CLI in one file (scripts/bundle.mjs) compiled through a V8 code
// cache (fast-path.ts), as Node 20 spends more time loading the ~100 modules of core and psrp one by one, and
// compiling them, than running them. Any other command (a fresh session, the agent itself) loads the modules:
// they share core and psrp with the transports they import.
const argv = process.argv.slice(2);
const trace = process.env.PSREMOTE_TRACE_TIMING
  ? (step: string) => {
      const cpu = process.cpuUsage();
      process.stderr.write(
        `psremote timing: ${performance.now().toFixed(1)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms) ${step}\n`,
      );
    }
  : undefined;
trace?.('bin running');

void (async () => {
  // `enter -Name web`: the agent is asked for the session and its prompt first, and answers while the CLI loads.
  const early = usesHeldSession(argv) ? await connectEarly(argv, process.env) : undefined;
  trace?.(early ? 'agent asked' : 'no early agent connection');
  const cli: CliModule =
    (usesHeldSession(argv)
      ? loadBundle(
          fileURLToPath(new URL('./run.bundle.cjs', import.meta.url)),
          process.env,
          // Bundled into dist/bin.cjs, this file has CommonJS's require, from the bundle's directory.
          typeof require === 'function' ? require : undefined,
        )
      : undefined) ?? (await import('./run.ts'));
  trace?.('CLI loaded');
  cli.run(argv, early);
})();
