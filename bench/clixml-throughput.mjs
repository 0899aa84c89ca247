// CLIXML deserialization throughput on realistic data: 100k Get-ChildItem-like objects written by real pwsh
// (PSSerializer, depth 1), deserialized repeatedly by @psremote/psrp. One JSON line.
import { execFileSync } from 'node:child_process';
import { deserializeClixmlDocument } from '../packages/psrp/dist/index.js';

const env = { ...process.env, PATH: `${process.env.PATH}:${process.env.HOME}/.dotnet/tools` };
const xml = execFileSync(
  'pwsh',
  [
    '-NoProfile',
    '-NonInteractive',
    '-c',
    "$o = 1..20000 | % { [pscustomobject]@{ Name = \"file$_.txt\"; Length = [long]$_ * 17; LastWriteTime = [datetime]'2026-01-01'; Mode = '-a---'; FullName = \"/tmp/dir/file$_.txt\"; Attributes = [IO.FileAttributes]::Archive; Tags = @('a','b') } }; [System.Management.Automation.PSSerializer]::Serialize($o, 2)",
  ],
  { env, encoding: 'utf8', maxBuffer: 1 << 30 },
);
const mb = Buffer.byteLength(xml) / 1048576;
deserializeClixmlDocument(xml); // warm-up
const rounds = 5;
const t = performance.now();
for (let i = 0; i < rounds; i++) deserializeClixmlDocument(xml);
const sec = (performance.now() - t) / 1000;
process.stdout.write(
  `${JSON.stringify({ name: 'deserialize', mb: mb * rounds, mbPerSec: (mb * rounds) / sec })}\n`,
);
