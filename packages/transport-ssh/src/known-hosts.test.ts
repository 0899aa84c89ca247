import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkKnownHosts,
  fingerprint,
  hostPatternsMatch,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
} from './known-hosts.ts';

/** An ssh-ed25519 public key blob (RFC 8709: string "ssh-ed25519", string key). */
function ed25519Blob(): Buffer {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const s = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([s(Buffer.from('ssh-ed25519')), s(raw)]);
}

const dir = mkdtempSync(join(tmpdir(), 'psremote-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = join(dir, `kh${n++}`);
  writeFileSync(f, text);
  return f;
}

const key = ed25519Blob();
const other = ed25519Blob();
const b64 = key.toString('base64');

describe('known_hosts names and patterns', () => {
  it('port 22 is the bare host, others are [host]:port, lower case', () => {
    expect(knownHostsName('Example.COM', 22)).toBe('example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it.each([
    ['host', 'host', true],
    ['HOST', 'host', true],
    ['a,b,host', 'host', true],
    ['*.example.com', 'web.example.com', true],
    ['web?.example.com', 'web1.example.com', true],
    ['*.example.com,!bad.example.com', 'bad.example.com', false],
    ['[127.0.0.1]:2222', '[127.0.0.1]:2222', true],
    ['[127.0.0.1]:2222', '127.0.0.1', false],
    ['127.0.0.1', '[127.0.0.1]:2222', false],
    ['[127.0.0.1]:*', '[127.0.0.1]:2222', true],
    ['1x2', '1.2', false],
  ])('%s vs %s -> %s', (pattern, name, want) => {
    expect(hostPatternsMatch(pattern, name)).toBe(want);
  });

  it('hashed entries (|1|salt|hmac) match their name only', () => {
    const salt = Buffer.alloc(20, 7);
    const entry = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h]:2222').digest('base64')}`;
    expect(hostPatternsMatch(entry, '[h]:2222')).toBe(true);
    expect(hostPatternsMatch(entry, 'h')).toBe(false);
    expect(hostPatternsMatch('|1|garbage', 'h')).toBe(false);
  });
});

describe('checkKnownHosts', () => {
  it('match, changed, unknown and revoked', () => {
    const f = file(`# c\n\nh ssh-ed25519 ${b64} comment\n`);
    expect(checkKnownHosts([f], ['h'], key)).toEqual({ status: 'match', file: f, line: 3 });
    expect(checkKnownHosts([f], ['h'], other).status).toBe('changed');
    expect(checkKnownHosts([f], ['g'], key).status).toBe('unknown');
    const r = file(`h ssh-ed25519 ${b64}\n@revoked * ssh-ed25519 ${b64}\n`);
    expect(checkKnownHosts([r], ['h'], key)).toEqual({ status: 'revoked', file: r, line: 2 });
  });

  it('a key of another type recorded for the host is not a change', () => {
    const f = file(`h ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\n`);
    expect(checkKnownHosts([f], ['h'], key).status).toBe('unknown');
    expect(knownKeyTypes([f], ['h'])).toEqual(['ssh-rsa']);
  });

  it('a match in a later file wins over a different key in an earlier one', () => {
    const a = file(`h ssh-ed25519 ${other.toString('base64')}\n`);
    const b = file(`h ssh-ed25519 ${b64}\n`);
    expect(checkKnownHosts([a, b], ['h'], key).status).toBe('match');
  });

  it('missing files, malformed lines and unknown markers are ignored', () => {
    const f = file(`@weird h ssh-ed25519 ${b64}\nh\nh ssh-ed25519\n`);
    expect(checkKnownHosts([join(dir, 'none'), f], ['h'], key).status).toBe('unknown');
  });
});

describe('appendKnownHost', () => {
  it('appends a plain line (adding the missing newline) and a hashed one that matches back', () => {
    const f = file('x ssh-ed25519 AAAA');
    appendKnownHost(f, '[h]:2222', key, false);
    expect(readFileSync(f, 'utf8')).toBe(`x ssh-ed25519 AAAA\n[h]:2222 ssh-ed25519 ${b64}\n`);
    const g = join(dir, 'sub', 'known_hosts');
    appendKnownHost(g, '[h]:2222', key, true);
    expect(readFileSync(g, 'utf8')).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(checkKnownHosts([g], ['[h]:2222'], key).status).toBe('match');
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
  });
});

describe('key helpers', () => {
  it('reads the type from the blob and prints the SHA256 fingerprint like ssh-keygen -l', () => {
    expect(keyTypeOf(key)).toBe('ssh-ed25519');
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe('unknown');
    expect(keyTypeOf(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]))).toBe('unknown');
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
