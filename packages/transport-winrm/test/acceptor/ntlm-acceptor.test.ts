import { afterEach, describe, expect, it } from 'vitest';
import { NtlmContext } from '../../src/auth/ntlm-context.ts';
import { Acceptor, acceptorMissing, b64, unb64 } from './acceptor.ts';

const missing = acceptorMissing();
if (missing) {
  if (process.env.PSREMOTE_REQUIRE_PEERS === '1')
    throw new Error(`PSREMOTE_REQUIRE_PEERS=1 but the GSSAPI NTLM acceptor is unavailable: ${missing}`);
  console.warn(`[transport-winrm] acceptor tests skipped: ${missing}`);
}

let acceptor: Acceptor | undefined;
afterEach(() => {
  acceptor?.close();
  acceptor = undefined;
});
const text = (s: string) => new TextEncoder().encode(s);

describe.skipIf(missing !== undefined)('raw NTLM against gss-ntlmssp', () => {
  it('authenticates, then seals both ways', async () => {
    acceptor = new Acceptor();
    expect(await acceptor.ask({ op: 'init', mech: 'ntlm', cb: null })).toEqual({ ok: true });
    const ctx = new NtlmContext({ username: 'DOMAIN\\User', password: 'Password' });
    const r1 = await acceptor.ask({ op: 'step', token: b64(ctx.negotiate()) });
    expect(r1.error).toBeUndefined();
    const r2 = await acceptor.ask({ op: 'step', token: b64(ctx.authenticate(unb64(r1.token))) });
    expect(r2).toMatchObject({ complete: true });
    console.log(r2, ctx.micPresent, ctx.negotiatedFlags.toString(16));
    const w = ctx.wrap(text('hello'));
    expect(await acceptor.ask({ op: 'unwrap', header: b64(w.header), data: b64(w.data) })).toEqual({
      data: b64(text('hello')),
      encrypted: true,
    });
    const a = await acceptor.ask({ op: 'wrap', data: b64(text('world')) });
    expect(new TextDecoder().decode(ctx.unwrap(unb64(a.header), unb64(a.data)))).toBe('world');
  });
});

describe.skipIf(missing !== undefined)('SPNEGO probe', () => {
  it('spnego', async () => {
    const { SpnegoNtlm } = await import('../../src/auth/spnego.ts');
    acceptor = new Acceptor();
    expect(await acceptor.ask({ op: 'init', mech: 'spnego', cb: null })).toEqual({ ok: true });
    const ctx = new SpnegoNtlm({ username: 'DOMAIN\\User', password: 'Password' });
    const t0 = ctx.initialToken();
    const r1 = await acceptor.ask({ op: 'step', token: b64(t0) });
    console.log('r1', r1);
    const t1 = ctx.step(unb64(r1.token))!;
    const r2 = await acceptor.ask({ op: 'step', token: b64(t1) });
    console.log('r2', r2, t0.length, t1.length);
    expect(ctx.step(unb64(r2.token))).toBeUndefined();
    const w = ctx.wrap(text('hello'));
    console.log(await acceptor.ask({ op: 'unwrap', header: b64(w.header), data: b64(w.data) }));
    const a = await acceptor.ask({ op: 'wrap', data: b64(text('world')) });
    console.log(a);
    expect(new TextDecoder().decode(ctx.unwrap(unb64(a.header), unb64(a.data)))).toBe('world');
  });
});
