// psremote's side of the bench: one JSON line per measurement (same names as pwsh-client.ps1).
import { openSession, RecordingHostUi } from '../packages/core/dist/index.js';
import { processTransport } from '../packages/transport-process/dist/index.js';

const [repeat = 5, bulk = 1_000_000, rich = 100_000] = process.argv.slice(2).map(Number);
const hostUi = new RecordingHostUi();
const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const peakRssMB = () => process.resourceUsage().maxRSS / 1024;
const emit = (o) =>
  process.stdout.write(`${JSON.stringify({ ...o, peakRssMB: Math.round(peakRssMB() * 10) / 10 })}\n`);

// warm-up
{
  const s = await openSession({ transport: processTransport, hostUi, env });
  await s.invoke('1').result();
  await s.close();
}
const opens = [];
const rts = [];
for (let i = 0; i < repeat; i++) {
  let t = performance.now();
  const s = await openSession({ transport: processTransport, hostUi, env });
  opens.push(performance.now() - t);
  for (let j = 0; j < 5; j++) {
    t = performance.now();
    await s.invoke('1').result();
    rts.push(performance.now() - t);
  }
  await s.close();
}
emit({ name: 'open', ms: median(opens), cpuMs: 0, samples: opens.length });
emit({ name: 'roundtrip', ms: median(rts), cpuMs: 0, samples: rts.length });

const s = await openSession({ transport: processTransport, hostUi, env });
for (const [name, script] of [
  ['bulk', `1..${bulk}`],
  [
    'rich',
    `1..${rich} | ForEach-Object { [pscustomobject]@{ Name = "file$_.txt"; Length = [long]$_ * 17; LastWriteTime = [datetime]'2026-01-01'; Mode = '-a---'; FullName = "/tmp/dir/file$_.txt"; Attributes = [IO.FileAttributes]::Archive } }`,
  ],
]) {
  const rss = [];
  const c0 = cpuMs();
  const t = performance.now();
  let count = 0;
  const sampler = setInterval(() => rss.push(Math.round(process.memoryUsage.rss() / 1048576)), 500);
  for await (const ev of s.invoke(script)) if (ev.kind === 'output') count++;
  clearInterval(sampler);
  emit({ name, ms: performance.now() - t, cpuMs: cpuMs() - c0, count, rssSamplesMB: rss.slice(0, 40) });
}
await s.close();
