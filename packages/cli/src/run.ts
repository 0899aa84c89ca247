// tsyringe and its Reflect metadata polyfill are loaded when a transport is needed (transports.ts).
import { runAgent } from './agent/server.ts';
import type { EarlyAgent } from './fast-path.ts';
import { EXIT } from './io.ts';
import { main } from './main.ts';

/** The whole CLI: `psremote __agent` is the session agent itself, started detached by the first command that needs it. */
export function run(argv: readonly string[], early?: EarlyAgent): void {
  (argv[0] === '__agent'
    ? runAgent(process.env)
    : main([...argv], {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        ...(early ? { early } : {}),
      })
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`psremote: internal error: ${(e as Error)?.message ?? String(e)}\n`);
      if (process.env.PSREMOTE_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
