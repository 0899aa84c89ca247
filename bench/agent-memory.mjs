// Memory per idle session (bench/agent.mjs): opens N sessions on the in-memory fake server in this process, as the
// agent holds them (each with a host of its own and no client), and prints the growth per session as JSON.
// Run with --expose-gc.
import { openSession, RecordingHostUi, SessionTable } from '../packages/core/dist/index.js';
import { createMemoryTransport } from '../packages/core/dist/testing/index.js';

const n = Number(process.argv[2] ?? 1000);
const gc = globalThis.gc ?? (() => {});
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};

const table = new SessionTable();
const transport = createMemoryTransport();
await settle();
const before = process.memoryUsage();
const t = performance.now();
const sessions = [];
for (let i = 0; i < n; i++)
  sessions.push(await openSession({ transport, hostUi: new RecordingHostUi(), table }));
const openMs = performance.now() - t;
await settle();
const after = process.memoryUsage();
// The fake servers live in this process too: their share is counted (an upper bound for the client side).
console.log(
  JSON.stringify({
    sessions: sessions.length,
    openMs,
    rssPerSessionKB: (after.rss - before.rss) / 1024 / n,
    heapPerSessionKB: (after.heapUsed - before.heapUsed) / 1024 / n,
  }),
);
await Promise.all(sessions.map((s) => s.close()));
