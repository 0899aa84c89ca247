#!/usr/bin/env node
// tsyringe needs the Reflect metadata polyfill loaded before it (the CLI is the one place it runs).
import 'reflect-metadata';
import { EXIT } from './io.ts';
import { main } from './main.ts';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`psremote: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.PSREMOTE_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    process.exitCode = EXIT.failed;
  },
);
