/**
 * PSREMOTE_TRACE_TIMING=1: each step of a command's start-up (bundle loaded, agent connected, attached, prompt
 * shown) is written to stderr with the milliseconds since the process started and the CPU time this process used
 * by then (on a loaded machine the wall clock mostly measures the others), to see where the time to the first
 * prompt goes. Off (the default), a mark is one comparison.
 */
const tracing = Boolean(process.env.PSREMOTE_TRACE_TIMING);

export function mark(step: string): void {
  if (tracing) process.stderr.write(`psremote timing: ${timingStamp()} ${step}\n`);
}

/** `123.4 ms (cpu 81.0 ms)`: since the process started. */
export function timingStamp(): string {
  const cpu = process.cpuUsage();
  return `${performance.now().toFixed(1)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms)`;
}
