import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { credsspAuth } from './credssp-auth.ts';

/** credsspAuth's lane logic against answers the real acceptor never gives. */
describe('credsspAuth against a hostile server', () => {
  const url = new URL('http://winrm.example:5985/wsman');
  const body = new TextEncoder().encode('<s:Envelope/>');

  it('a 200 to a handshake leg (the binding skipped) is a token error, and the lane starts over', async () => {
    const auth = credsspAuth({ username: 'DOM\\alice', password: 'Pa55!word' });
    const first = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(first.handshake).toBe(true);
    expect(String(first.headers?.authorization)).toMatch(/^CredSSP [A-Za-z0-9+/=]+$/);
    const e = await Promise.resolve(
      auth.challenge?.({ lane: 'operation', status: 200, headers: {}, body: new Uint8Array(0) }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isPSRemotingError(e) && e.errorId).toBe('WinRMAuthTokenInvalid');
    expect(String((e as Error).message)).not.toContain('Pa55!word');
    // No stale context: the next request starts a fresh exchange at once (no 30 s wait on the old one).
    const started = Date.now();
    const again = await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(again.handshake).toBe(true);
    auth.reset?.('operation');
  });

  it('a 500 to a handshake leg is left to the fault parser (not retried)', async () => {
    const auth = credsspAuth({ username: 'DOM\\alice', password: 'Pa55!word' });
    await auth.prepare({ lane: 'operation', url, body, attempt: 0 });
    expect(
      await auth.challenge?.({ lane: 'operation', status: 500, headers: {}, body: new Uint8Array(0) }),
    ).toBe(false);
  });
});
