import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The outcome of looking a host key up in known_hosts files (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT). */
export type KnownHostsResult =
  | { readonly status: 'match'; readonly file: string; readonly line: number }
  | { readonly status: 'revoked'; readonly file: string; readonly line: number }
  /** A key of the same type is recorded for this host, and it is a different key. */
  | { readonly status: 'changed'; readonly file: string; readonly line: number }
  | { readonly status: 'unknown' };

/** The name known_hosts records: `host`, or `[host]:port` off port 22 (lower case, as OpenSSH writes it). */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** The key type named inside an SSH public key blob (RFC 4253 6.6: string type, then the key data). */
export function keyTypeOf(blob: Uint8Array): string {
  if (blob.length < 4) return 'unknown';
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const len = view.getUint32(0);
  if (len > blob.length - 4 || len > 64) return 'unknown';
  return Buffer.from(blob.subarray(4, 4 + len)).toString('latin1');
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` and OpenSSH's prompts print it. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** `ED25519`, `RSA`, `ECDSA`, `DSA`: the label OpenSSH puts before "key fingerprint". */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa') return 'RSA';
  if (type.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (type === 'ssh-dss') return 'DSA';
  return type.toUpperCase();
}

// ssh's match_pattern: `*` any run, `?` one character; case-insensitive for host names.
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(entry: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = entry.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether a host-pattern field (comma list, `!` negation, wildcards, hashed entries) matches `name`. */
export function hostPatternsMatch(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatch(field, name);
  let positive = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (pattern === '' || !globMatch(pattern, name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

interface Entry {
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  readonly hosts: string;
  readonly type: string;
  readonly key: string;
  readonly line: number;
}

function* entries(text: string): Generator<Entry> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: Entry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()?.toLowerCase();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // sshd(8): an unknown marker makes the line ignored
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) continue;
    yield { marker, hosts, type, key, line: i + 1 };
  }
}

function readText(file: string): string | undefined {
  try {
    // Bounded: a known_hosts file is not read past 16 MiB.
    if (statSync(file).size > 16 * 1024 * 1024) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Looks the host key up the way OpenSSH's check_host_key does: a revoked key is refused wherever it is listed,
 * a recorded identical key matches, a recorded different key of the same type means the key changed.
 */
export function checkKnownHosts(
  files: readonly string[],
  names: readonly string[],
  blob: Uint8Array,
): KnownHostsResult {
  const type = keyTypeOf(blob);
  const b64 = Buffer.from(blob).toString('base64');
  let match: KnownHostsResult | undefined;
  let changed: KnownHostsResult | undefined;
  for (const file of files) {
    const text = readText(file);
    if (text === undefined) continue;
    for (const e of entries(text)) {
      if (e.marker === 'revoked') {
        // sshd(8): "@revoked ... the key contained on the line is revoked and must not ever be accepted".
        if (e.key === b64 && (e.hosts === '*' || names.some((n) => hostPatternsMatch(e.hosts, n))))
          return { status: 'revoked', file, line: e.line };
        continue;
      }
      if (e.marker === 'cert-authority') continue;
      if (!names.some((n) => hostPatternsMatch(e.hosts, n))) continue;
      if (e.type === type && e.key === b64) match ??= { status: 'match', file, line: e.line };
      else if (e.type === type) changed ??= { status: 'changed', file, line: e.line };
    }
  }
  return match ?? changed ?? { status: 'unknown' };
}

/** Key types recorded for the host: offered first, so the server proves the key we know (as OpenSSH orders them). */
export function knownKeyTypes(files: readonly string[], names: readonly string[]): string[] {
  const types: string[] = [];
  for (const file of files) {
    const text = readText(file);
    if (text === undefined) continue;
    for (const e of entries(text)) {
      if (e.marker) continue;
      if (names.some((n) => hostPatternsMatch(e.hosts, n)) && !types.includes(e.type)) types.push(e.type);
    }
  }
  return types;
}

/** Appends `name type key` (hashed when HashKnownHosts=yes) to a known_hosts file, creating ~/.ssh 0700. */
export function appendKnownHost(file: string, name: string, blob: Uint8Array, hashed: boolean): void {
  let hostField = name;
  if (hashed) {
    const salt = randomBytes(20);
    hostField = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const existing = readText(file);
  const lead = existing && !existing.endsWith('\n') ? '\n' : '';
  appendFileSync(file, `${lead}${hostField} ${keyTypeOf(blob)} ${Buffer.from(blob).toString('base64')}\n`, {
    mode: 0o600,
  });
}
