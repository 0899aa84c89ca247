import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The workspace's one convention for tests (issue 14 item 8): a test that needs a real peer (pwsh, sshd, podman, OMI,
 * the WSMan endpoint, a KDC, a pseudo-terminal driving the CLI against one) is named `*.peer.test.ts`; every other
 * `*.test.ts` is a unit test that runs on any machine with Node alone (`pnpm test:unit`). Unit tests sit beside
 * their code in src/, peer tests and their helpers in test/ (or beside the code when they check it against pwsh).
 */
const PACKAGES = join(import.meta.dirname, '..', '..');

/**
 * What starts or needs a real peer: the helpers the peer tests use to find or start one (among them the fixtures of
 * transport-winrm's test/peer/peers.ts and cli's test/ssh-peer.ts).
 */
const PEER_MARKERS =
  /\b(findTestPwsh|findPwsh|havePwsh|PSREMOTE_REQUIRE_PEERS|inject\(|startWsmanEndpoint|endpointSkipReason|startKdc|kdcSkipReason|acceptorMissing|startSshPeer|startOmi|PtySession|withKdcEndpoint|withEndpoints|kerberosPeersSkipReason|sshTestPeer)/;

function testFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, out);
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('test naming: *.peer.test.ts needs a real peer, *.test.ts does not', () => {
  const files = testFiles(PACKAGES);

  it('finds the workspace tests', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(files.some((f) => f.endsWith('.peer.test.ts'))).toBe(true);
  });

  it('every test that reaches for a peer is a *.peer.test.ts, and every *.peer.test.ts does', () => {
    const misnamed: string[] = [];
    for (const file of files) {
      const needsPeer = PEER_MARKERS.test(readFileSync(file, 'utf8'));
      const named = file.endsWith('.peer.test.ts');
      // This file names the markers without using them.
      if (file === join(import.meta.dirname, 'test-convention.test.ts')) continue;
      if (needsPeer !== named)
        misnamed.push(`${relative(PACKAGES, file)}: ${needsPeer ? 'needs a peer' : 'needs no peer'}`);
    }
    expect(misnamed).toEqual([]);
  });
});
