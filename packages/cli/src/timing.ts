/**
 * PSREMOTE_TRACE_TIMING=1: each step of a command's start-up (bundle loaded, agent connected, attached, prompt
 * shown) is written to stderr with the milliseconds since the process started, to see where the time to the first
 * prompt goes. Off (the default), a mark is one comparison.
 */
const tracing = Boolean(process.env.PSREMOTE_TRACE_TIMING);

export function mark(step: string): void {
  if (tracing) process.stderr.write(`psremote timing: ${performance.now().toFixed(1)} ms ${step}\n`);
}
