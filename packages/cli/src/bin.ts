#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { usesHeldSession } from './fast-path.ts';

// A command on a session the agent holds (enter/invoke/get/remove -Id|-Name|-InstanceId) wants its first prompt
// soon: it runs from dist/run.bundle.js, the same CLI in one file (scripts/bundle.mjs), as Node 20 spends more
// time loading the ~100 modules of core and psrp one by one than running them. Any other command (a fresh
// session, the agent itself) loads the modules: they share core and psrp with the transports they import.
const argv = process.argv.slice(2);
const bundle = new URL('./run.bundle.js', import.meta.url);
const { run } = (
  usesHeldSession(argv) && existsSync(bundle) ? await import(bundle.href) : await import('./run.ts')
) as typeof import('./run.ts');
run(argv);
