import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pemBlocks, readBoundedFile } from './pem-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'psremote-pem-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const unix = process.platform !== 'win32';

describe('readBoundedFile', () => {
  it('reads a regular file and gives the fstat of what it read', () => {
    writeFileSync(join(dir, 'a.pem'), 'hello', { mode: 0o600 });
    const r = readBoundedFile(join(dir, 'a.pem'), 100);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.text).toBe('hello');
      expect(r.stat.mode & 0o777).toBe(0o600);
      expect(r.stat.isFile()).toBe(true);
    }
  });

  it('a file over the limit is not read (a sparse 4 GiB file answers at once)', () => {
    writeFileSync(join(dir, 'big.pem'), '');
    truncateSync(join(dir, 'big.pem'), 4 * 1024 ** 3);
    const t = Date.now();
    expect(readBoundedFile(join(dir, 'big.pem'), 1024 * 1024)).toMatchObject({
      ok: false,
      reason: 'tooLarge',
    });
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it.skipIf(!unix)('a FIFO is refused without blocking (nobody ever writes to it)', () => {
    execFileSync('mkfifo', [join(dir, 'f.pem')]);
    symlinkSync(join(dir, 'f.pem'), join(dir, 'to-fifo.pem'));
    expect(readBoundedFile(join(dir, 'f.pem'), 100)).toEqual({
      ok: false,
      reason: 'notFile',
      detail: 'fifo',
    });
    expect(readBoundedFile(join(dir, 'to-fifo.pem'), 100)).toEqual({
      ok: false,
      reason: 'notFile',
      detail: 'fifo',
    });
  });

  it.skipIf(!unix)('a symbolic link to /dev/zero is a device, never read', () => {
    symlinkSync('/dev/zero', join(dir, 'z.pem'));
    expect(readBoundedFile(join(dir, 'z.pem'), 100)).toEqual({
      ok: false,
      reason: 'notFile',
      detail: 'device',
    });
  });

  it('a link loop, a dangling link and a directory: refused with their reason', () => {
    symlinkSync(join(dir, 'b.pem'), join(dir, 'a.pem'));
    symlinkSync(join(dir, 'a.pem'), join(dir, 'b.pem'));
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling.pem'));
    expect(readBoundedFile(join(dir, 'a.pem'), 100)).toEqual({ ok: false, reason: 'error', detail: 'ELOOP' });
    expect(readBoundedFile(join(dir, 'dangling.pem'), 100)).toEqual({
      ok: false,
      reason: 'error',
      detail: 'ENOENT',
    });
    expect(readBoundedFile(dir, 100)).toMatchObject({ ok: false, reason: 'notFile', detail: 'directory' });
  });

  it.skipIf(process.platform !== 'linux')(
    'a file whose size fstat does not tell (procfs) is still read only up to the limit',
    () => {
      // /proc files report size 0; the read stops at the limit whatever fstat said.
      const r = readBoundedFile('/proc/self/maps', 16);
      expect(r).toMatchObject({ ok: false, reason: 'tooLarge' });
    },
  );
});

const CERT = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;

describe('pemBlocks', () => {
  it('the known blocks in order, whatever surrounds them; unknown labels passed over', () => {
    const text = `junk\n${CERT('AAAA')}\n-----BEGIN X509 CRL-----\nx\n-----END X509 CRL-----\n-----BEGIN EC PRIVATE KEY-----\nk\n-----END EC PRIVATE KEY-----\n${CERT('BBBB')}`;
    expect(pemBlocks(text, 10)).toEqual({
      blocks: [
        { label: 'CERTIFICATE', text: CERT('AAAA') },
        {
          label: 'EC PRIVATE KEY',
          text: '-----BEGIN EC PRIVATE KEY-----\nk\n-----END EC PRIVATE KEY-----',
        },
        { label: 'CERTIFICATE', text: CERT('BBBB') },
      ],
      more: false,
    });
  });

  it('stops at max and says there were more', () => {
    const r = pemBlocks([1, 2, 3].map(() => CERT('A')).join('\n'), 2);
    expect(r.blocks).toHaveLength(2);
    expect(r.more).toBe(true);
  });

  it('an END of another label does not close a block', () => {
    const text = '-----BEGIN PRIVATE KEY-----\nk\n-----END CERTIFICATE-----\n';
    expect(pemBlocks(text, 10).blocks).toEqual([]);
  });

  it('linear on hostile text: a megabyte of BEGIN lines without an END, of every label, in well under a second', () => {
    const labels = [
      'CERTIFICATE',
      'PRIVATE KEY',
      'RSA PRIVATE KEY',
      'EC PRIVATE KEY',
      'ENCRYPTED PRIVATE KEY',
    ];
    const line = labels.map((l) => `-----BEGIN ${l}-----\n`).join('');
    const text = line.repeat(Math.ceil((1024 * 1024) / line.length));
    const t = Date.now();
    expect(pemBlocks(text, 18)).toEqual({ blocks: [], more: false });
    // The regular expression this replaced took about 19 s on this text.
    expect(Date.now() - t).toBeLessThan(500);
    const dashes = '-----BEGIN '.repeat(100_000);
    const t2 = Date.now();
    expect(pemBlocks(dashes, 18).blocks).toEqual([]);
    expect(Date.now() - t2).toBeLessThan(500);
  });
});
