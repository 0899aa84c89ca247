// psremote's side of the bench: one JSON line per measurement (same names as pwsh-client.ps1).
// Target: a local `pwsh -s` child, or with BENCH_SSH='{"port":..,"user":..,"key":..,"knownHosts":..}' the
// SSHHost set on 127.0.0.1 (bench/run.mjs starts the private sshd of transport-ssh's tests); with
// BENCH_CONTAINER='{"socket":..,"name":..}' the ContainerId set through that engine socket.
import { openSession, RecordingHostUi, silentLogger } from '../packages/core/dist/index.js';
import { containerTransport } from '../packages/transport-container/dist/index.js';
import { processTransport } from '../packages/transport-process/dist/index.js';
import {
  createSshTransport,
  openSshChannel,
  resolveSshTarget,
} from '../packages/transport-ssh/dist/index.js';
import { authenticatorFor, createWinrmTransport } from '../packages/transport-winrm/dist/index.js';

const [repeat = 5, bulk = 1_000_000, rich = 100_000] = process.argv.slice(2).map(Number);
const ssh = process.env.BENCH_SSH ? JSON.parse(process.env.BENCH_SSH) : undefined;
const ct = process.env.BENCH_CONTAINER ? JSON.parse(process.env.BENCH_CONTAINER) : undefined;
// BENCH_WINRM='{"port":..,"user":..,"password":..,"authentication":"Negotiate"|"Basic","noEncryption":bool}'
const winrm = process.env.BENCH_WINRM ? JSON.parse(process.env.BENCH_WINRM) : undefined;
/** WinRM traffic: requests that carried a body (envelopes) and response bytes, counted at the authenticator. */
const wire = { envelopes: 0, receivedBytes: 0 };
const winrmTransport =
  winrm &&
  createWinrmTransport({
    authenticatorFor: (request) => {
      const inner = authenticatorFor(request);
      return {
        async prepare(req) {
          const p = await inner.prepare(req);
          if ((p.body ?? req.body).length > 0) wire.envelopes++;
          return p;
        },
        challenge: (res) => inner.challenge?.(res) ?? false,
        unwrap(res) {
          wire.receivedBytes += res.body.length;
          return inner.unwrap ? inner.unwrap(res) : res.body;
        },
        reset: (lane) => inner.reset?.(lane),
      };
    },
  });
const winrmBound = winrm && {
  parameterSet: 'ComputerName',
  bound: {
    ComputerName: '127.0.0.1',
    Port: winrm.port,
    Authentication: winrm.authentication ?? 'Negotiate',
    Credential: { userName: winrm.user, password: winrm.password },
    ...(winrm.noEncryption ? { SessionOption: { NoEncryption: 'True' } } : {}),
  },
};
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

const sshTransport = ssh ? createSshTransport({ systemConfigPath: null }) : undefined;
const sshBound = ssh && {
  parameterSet: 'SSHHost',
  bound: {
    HostName: `${ssh.user}@127.0.0.1:${ssh.port}`,
    KeyFilePath: ssh.key,
    Options: { UserKnownHostsFile: ssh.knownHosts, StrictHostKeyChecking: 'yes' },
  },
};
const open = () =>
  winrm
    ? openSession({ transport: winrmTransport, bound: winrmBound, hostUi, env })
    : ssh
      ? openSession({ transport: sshTransport, bound: sshBound, hostUi, env })
      : ct
        ? openSession({
            transport: containerTransport,
            bound: { parameterSet: 'ContainerId', bound: { ContainerId: ct.name } },
            hostUi,
            env: { ...env, DOCKER_HOST: `unix://${ct.socket}` },
          })
        : openSession({ transport: processTransport, hostUi, env });

// warm-up
{
  const s = await open();
  await s.invoke('1').result();
  await s.close();
}

if (ssh) {
  // The floor: TCP, key exchange, host key check and public-key authentication (ssh2 'ready'), then the
  // subsystem channel (sshd has started pwsh -sshs, which has not answered yet).
  const ready = [];
  const channel = [];
  for (let i = 0; i < repeat; i++) {
    const target = resolveSshTarget(sshBound, env, { systemConfigPath: null });
    const ctx = { hostUi, env, log: silentLogger, signal: new AbortController().signal };
    const c = await openSshChannel(target, ctx, () => {
      throw new Error('no ProxyJump in the bench');
    });
    c.deadline.clear();
    ready.push(c.timings.readyMs);
    channel.push(c.timings.channelMs);
    c.channel.destroy();
    for (const cl of c.clients) cl.end();
  }
  emit({ name: 'handshake', ms: median(ready), cpuMs: 0, samples: ready.length });
  emit({ name: 'channel', ms: median(channel), cpuMs: 0, samples: channel.length });
}

const opens = [];
const rts = [];
for (let i = 0; i < repeat; i++) {
  let t = performance.now();
  const s = await open();
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

const s = await open();
const cases = [['bulk', `1..${bulk}`]];
if (rich > 0)
  cases.push([
    'rich',
    `1..${rich} | ForEach-Object { [pscustomobject]@{ Name = "file$_.txt"; Length = [long]$_ * 17; LastWriteTime = [datetime]'2026-01-01'; Mode = '-a---'; FullName = "/tmp/dir/file$_.txt"; Attributes = [IO.FileAttributes]::Archive } }`,
  ]);
for (const [name, script] of cases) {
  const rss = [];
  const c0 = cpuMs();
  const t = performance.now();
  let count = 0;
  const sampler = setInterval(() => rss.push(Math.round(process.memoryUsage.rss() / 1048576)), 500);
  const w0 = { ...wire };
  for await (const ev of s.invoke(script)) if (ev.kind === 'output') count++;
  clearInterval(sampler);
  const mb = (wire.receivedBytes - w0.receivedBytes) / 1048576;
  emit({
    name,
    ms: performance.now() - t,
    cpuMs: cpuMs() - c0,
    count,
    rssSamplesMB: rss.slice(0, 40),
    ...(winrm ? { envelopes: wire.envelopes - w0.envelopes, receivedMB: mb } : {}),
  });
}
await s.close();
