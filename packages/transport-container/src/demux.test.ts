import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExecDemuxer } from './demux.ts';
import { resolveEndpoint } from './endpoint.ts';

const frame = (type: number, text: string) => {
  const p = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
};

async function collect(s: PassThrough): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('ExecDemuxer (stdcopy frames)', () => {
  it('splits stdout and stderr across arbitrary chunk boundaries, keeping bytes read with the headers', async () => {
    const src = new PassThrough();
    const all = Buffer.concat([
      frame(1, 'hello '),
      frame(2, 'oops'),
      frame(1, 'world'),
      frame(3, 'daemon says no'),
    ]);
    const d = new ExecDemuxer(src, all.subarray(0, 5));
    const out = collect(d.stdout);
    const err = collect(d.stderr);
    for (let i = 5; i < all.length; i += 3) src.write(all.subarray(i, i + 3));
    src.end();
    expect(await out).toBe('hello world');
    expect(await err).toBe('oopsdaemon says no');
    expect(d.systemError).toBe('daemon says no');
  });
  it('passes a payload on as it arrives: a frame is never held until it is whole', async () => {
    const src = new PassThrough();
    const d = new ExecDemuxer(src, Buffer.alloc(0));
    const h = Buffer.alloc(8);
    h[0] = 1;
    h.writeUInt32BE(10 * 1024 * 1024, 4);
    const got: Buffer[] = [];
    d.stdout.on('data', (c: Buffer) => got.push(c));
    // The header in two pieces, then the first 100 bytes of a 10 MiB frame.
    src.write(h.subarray(0, 3));
    src.write(Buffer.concat([h.subarray(3), Buffer.from('a'.repeat(100))]));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).toString()).toBe('a'.repeat(100));
  });
  it('many frames in one chunk, empty frames, a UTF-8 character of a daemon error cut between chunks', async () => {
    const src = new PassThrough();
    const all = Buffer.concat([frame(1, ''), frame(1, 'a'), frame(2, ''), frame(3, 'né€'), frame(1, 'b')]);
    const d = new ExecDemuxer(src, Buffer.alloc(0));
    const out = collect(d.stdout);
    const err = collect(d.stderr);
    for (const b of all) src.write(Buffer.from([b]));
    src.end();
    expect(await out).toBe('ab');
    expect(await err).toBe('né€');
    expect(d.systemError).toBe('né€');
  });
  it('refuses an oversized frame instead of buffering it', async () => {
    const src = new PassThrough();
    const d = new ExecDemuxer(src, Buffer.alloc(0), 1024);
    const h = Buffer.alloc(8);
    h[0] = 1;
    h.writeUInt32BE(1 << 20, 4);
    const failed = new Promise((resolve) => d.stdout.on('error', resolve));
    src.write(h);
    expect(String(await failed)).toMatch(/exceeds 1024/);
  });
});

describe('resolveEndpoint', () => {
  it('reads DOCKER_HOST as the docker CLI does', () => {
    expect(resolveEndpoint({ DOCKER_HOST: 'unix:///run/podman/podman.sock' })).toMatchObject({
      kind: 'unix',
      path: '/run/podman/podman.sock',
    });
    expect(resolveEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' })).toMatchObject({
      kind: 'tcp',
      host: '10.0.0.5',
      port: 2375,
      tls: undefined,
    });
    expect(resolveEndpoint({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1' })).toMatchObject({
      kind: 'tcp',
      tls: { verify: true },
    });
    expect(resolveEndpoint({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' })).toMatchObject({
      kind: 'npipe',
    });
    expect(() => resolveEndpoint({ DOCKER_HOST: 'ftp://x' })).toThrowError(/not a unix/);
  });
  it('DOCKER_TLS_VERIFY without DOCKER_CERT_PATH reads ~/.docker, as the docker CLI', () => {
    const home = mkdtempSync(join(tmpdir(), 'psremote-docker-home-'));
    try {
      mkdirSync(join(home, '.docker'));
      writeFileSync(join(home, '.docker', 'ca.pem'), 'CA');
      writeFileSync(join(home, '.docker', 'cert.pem'), 'CERT');
      writeFileSync(join(home, '.docker', 'key.pem'), 'KEY');
      const ep = resolveEndpoint({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', HOME: home });
      expect(ep.kind === 'tcp' && ep.tls && String(ep.tls.cert)).toBe('CERT');
      expect(ep.kind === 'tcp' && ep.tls && String(ep.tls.ca)).toBe('CA');
      // Without DOCKER_TLS_VERIFY (and no DOCKER_CERT_PATH) it is plain TCP, as for docker.
      expect(resolveEndpoint({ DOCKER_HOST: 'tcp://h:2375', HOME: home })).toMatchObject({ tls: undefined });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
  it('the docker context (DOCKER_CONTEXT, else currentContext in config.json), as Docker Desktop sets it', () => {
    const config = mkdtempSync(join(tmpdir(), 'psremote-docker-config-'));
    const meta = (name: string, host: string, tls?: Record<string, string>) => {
      const id = createHash('sha256').update(name).digest('hex');
      mkdirSync(join(config, 'contexts', 'meta', id), { recursive: true });
      writeFileSync(
        join(config, 'contexts', 'meta', id, 'meta.json'),
        JSON.stringify({ Name: name, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }),
      );
      if (tls) {
        mkdirSync(join(config, 'contexts', 'tls', id, 'docker'), { recursive: true });
        for (const [f, text] of Object.entries(tls))
          writeFileSync(join(config, 'contexts', 'tls', id, 'docker', f), text);
      }
    };
    try {
      meta('desktop-linux', 'unix:///Users/me/.docker/run/docker.sock');
      meta('remote', 'tcp://10.1.2.3:2376', { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' });
      writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'desktop-linux' }));
      const env = { DOCKER_CONFIG: config };
      expect(resolveEndpoint(env)).toMatchObject({ kind: 'unix', path: '/Users/me/.docker/run/docker.sock' });
      const remote = resolveEndpoint({ ...env, DOCKER_CONTEXT: 'remote' });
      expect(remote).toMatchObject({ kind: 'tcp', host: '10.1.2.3', port: 2376, tls: { verify: true } });
      expect(remote.kind === 'tcp' && String(remote.tls?.cert)).toBe('CERT');
      // DOCKER_HOST wins over any context; `default` is the default socket.
      expect(resolveEndpoint({ ...env, DOCKER_HOST: 'unix:///x.sock' })).toMatchObject({ path: '/x.sock' });
      expect(resolveEndpoint({ ...env, DOCKER_CONTEXT: 'default' }).kind).toBe(
        process.platform === 'win32' ? 'npipe' : 'unix',
      );
      expect(() => resolveEndpoint({ ...env, DOCKER_CONTEXT: 'nope' })).toThrowError(
        /docker context 'nope' was not found/,
      );
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });
  it('falls back to a default socket', () => {
    expect(resolveEndpoint({}).kind).toBe(process.platform === 'win32' ? 'npipe' : 'unix');
  });
});
