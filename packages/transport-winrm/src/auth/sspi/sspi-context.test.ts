import { createRequire } from 'node:module';
import { isPSRemotingError } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import type { KoffiFunction } from '../gssapi/gss-ffi.ts';
import { kerberosAuth } from '../kerberos-auth.ts';
import { SspiCredential, SspiInitiator } from './sspi-context.ts';
import { SspiError } from './sspi-errors.ts';
import { loadSspi, type Secur32Functions, SSPI, sspiTypes } from './sspi-ffi.ts';

// The SSPI loop and buffer handling against a scripted secur32 (no KDC): each status SSPI may return, and what the
// code must do with the memory it is given back. The real exchange runs in test/peer/sspi.peer.test.ts.
const koffi = createRequire(import.meta.url)('koffi') as {
  alloc(t: unknown, n: number): bigint;
  free(p: bigint): void;
  encode(p: bigint, t: unknown, v: unknown): void;
  decode(p: bigint, t: unknown): Record<string, unknown>;
  view(p: bigint, n: number): ArrayBuffer;
  sizeof(t: unknown): number;
};
const T = sspiTypes(koffi as never);
const ALL = SSPI.ISC_RET_MUTUAL_AUTH | SSPI.ISC_RET_CONFIDENTIALITY | SSPI.ISC_RET_INTEGRITY;

interface Leg {
  status: number;
  token?: number[];
  attrs?: number;
}

function bufs(desc: bigint) {
  const d = koffi.decode(desc, T.secBufferDesc);
  return Array.from({ length: Number(d.cBuffers) }, (_, i) => {
    const at = (d.pBuffers as bigint) + BigInt(i * koffi.sizeof(T.secBuffer));
    const b = koffi.decode(at, T.secBuffer);
    return { at, type: Number(b.BufferType), length: Number(b.cbBuffer), ptr: b.pvBuffer as bigint | null };
  });
}
const set = (b: { at: bigint; type: number }, length: number, ptr: bigint | null) =>
  koffi.encode(b.at, T.secBuffer, { cbBuffer: length, BufferType: b.type, pvBuffer: ptr });
const read = (p: bigint | null, n: number) =>
  p && n ? new Uint8Array(koffi.view(p, n)).slice() : new Uint8Array(0);

/** A secur32 whose InitializeSecurityContextW answers `legs` in turn; EncryptMessage XORs with 0x5a. */
function scripted(
  legs: Leg[],
  opts: {
    padding?: number;
    qop?: number;
    negotiated?: string;
    signed?: boolean;
    encryptStatus?: number;
  } = {},
) {
  const log: string[] = [];
  const inputs: { tokens: number[][]; bindings: number }[] = [];
  const live = new Set<bigint>();
  const names = new Map<bigint, bigint>();
  let achAuthData: bigint | null | undefined;
  const sync = (name: string, impl: (...a: never[]) => number): KoffiFunction => {
    const f = ((...a: unknown[]) => {
      log.push(name);
      // sspi.h's SECURITY_STATUS is a LONG: `signed` hands statuses back as a signed 32-bit number.
      const rc = impl(...(a as never[]));
      return opts.signed ? rc | 0 : rc >>> 0;
    }) as KoffiFunction;
    f.async = (...a: unknown[]) => {
      const cb = a.pop() as (e: unknown, rc?: number) => void;
      setImmediate(() => cb(null, f(...a)));
    };
    return f;
  };
  const f: Secur32Functions = {
    AcquireCredentialsHandleW: sync(
      'ACH',
      (
        _p: null,
        _pkg: string,
        _u: number,
        _l: null,
        auth: bigint | null,
        _a: null,
        _b: null,
        cred: bigint,
      ) => {
        achAuthData = auth;
        koffi.encode(cred, T.secHandle, { dwLower: 7n, dwUpper: 1n });
        return 0;
      },
    ),
    InitializeSecurityContextW: sync(
      'ISC',
      (
        _c: bigint,
        _ctx: bigint | null,
        _t: string,
        _r: number,
        _r1: number,
        _d: number,
        input: bigint | null,
        _r2: number,
        next: bigint,
        output: bigint,
        attrs: bigint,
      ) => {
        const ins = input ? bufs(input) : [];
        inputs.push({
          tokens: ins.filter((b) => b.type === SSPI.SECBUFFER_TOKEN).map((b) => [...read(b.ptr, b.length)]),
          bindings: ins.filter((b) => b.type === SSPI.SECBUFFER_CHANNEL_BINDINGS).length,
        });
        const leg = legs.shift() ?? { status: 0x80090304 };
        koffi.encode(next, T.secHandle, { dwLower: 9n, dwUpper: 2n });
        const out = bufs(output)[0]!;
        if (leg.token && leg.token.length > 0) {
          const p = koffi.alloc('uint8_t', leg.token.length);
          live.add(p);
          new Uint8Array(koffi.view(p, leg.token.length)).set(leg.token);
          set(out, leg.token.length, p);
        }
        new Uint32Array(koffi.view(attrs, 4))[0] = leg.attrs ?? ALL;
        return leg.status;
      },
    ),
    QueryContextAttributesW: sync('QCA', (_c: bigint, attr: number, p: bigint) => {
      if (attr === SSPI.SECPKG_ATTR_NEGOTIATION_INFO) {
        if (opts.negotiated === undefined) return 0x80090302; // SEC_E_UNSUPPORTED_FUNCTION
        // SSPI's memory: a SecPkgInfoW and its Name, both released with FreeContextBuffer (one call, here).
        const name = Buffer.from(`${opts.negotiated}\0`, 'utf16le');
        const n = koffi.alloc('uint8_t', name.length);
        new Uint8Array(koffi.view(n, name.length)).set(name);
        const info = koffi.alloc(T.pkgInfo, 1);
        koffi.encode(info, T.pkgInfo, {
          fCapabilities: 0,
          wVersion: 1,
          wRPCID: 9,
          cbMaxToken: 48256,
          Name: n,
          Comment: null,
        });
        live.add(info);
        names.set(info, n);
        koffi.encode(p, T.negotiationInfo, { PackageInfo: info, NegotiationState: 0 });
        return 0;
      }
      koffi.encode(p, T.sizes, {
        cbMaxToken: 100,
        cbMaxSignature: 16,
        cbBlockSize: 8,
        cbSecurityTrailer: 64,
      });
      return 0;
    }),
    EncryptMessage: sync('Encrypt', (_c: bigint, _q: number, desc: bigint) => {
      if (opts.encryptStatus !== undefined) return opts.encryptStatus;
      const [tok, data, pad] = bufs(desc);
      new Uint8Array(koffi.view(tok!.ptr as bigint, 3)).set([1, 2, 3]);
      set(tok!, 3, tok!.ptr); // shorter than cbSecurityTrailer: the code must take the length SSPI leaves
      const v = new Uint8Array(koffi.view(data!.ptr as bigint, data!.length));
      for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) ^ 0x5a;
      const n = opts.padding ?? 0;
      if (n > 0) new Uint8Array(koffi.view(pad!.ptr as bigint, n)).fill(0xee);
      set(pad!, n, pad!.ptr);
      return 0;
    }),
    DecryptMessage: sync('Decrypt', (_c: bigint, desc: bigint, _s: number, qop: bigint) => {
      const bs = bufs(desc);
      const stream = bs.find((b) => b.type === SSPI.SECBUFFER_STREAM);
      const data = bs.find((b) => b.type === SSPI.SECBUFFER_DATA)!;
      if (stream) {
        // header of 3 bytes, the plaintext (XORed back) left after it, DATA pointing there.
        const at = (stream.ptr as bigint) + 3n;
        const v = new Uint8Array(koffi.view(at, stream.length - 3));
        for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) ^ 0x5a;
        set(data, stream.length - 3, at);
      } else {
        const v = new Uint8Array(koffi.view(data.ptr as bigint, data.length));
        for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) ^ 0x5a;
      }
      new Uint32Array(koffi.view(qop, 4))[0] = opts.qop ?? 0;
      return 0;
    }),
    CompleteAuthToken: sync('Complete', () => 0),
    DeleteSecurityContext: sync('Delete', () => 0),
    FreeCredentialsHandle: sync('FreeCred', () => 0),
    FreeContextBuffer: sync('FreeBuf', (p: bigint) => {
      if (!live.delete(p)) return 0x80090301;
      const name = names.get(p);
      if (name !== undefined) koffi.free(name);
      names.delete(p);
      koffi.free(p);
      return 0;
    }),
  };
  return { ffi: loadSspi({ functions: f }), log, inputs, live, achAuthData: () => achAuthData };
}

async function started(
  legs: Leg[],
  o: {
    padding?: number;
    qop?: number;
    decrypt?: 'stream' | 'token';
    cb?: boolean;
    pkg?: 'Kerberos' | 'Negotiate';
    negotiated?: string;
    signed?: boolean;
  } = {},
) {
  const s = scripted(legs, o);
  const credential = await SspiCredential.acquire(s.ffi, { package: o.pkg ?? 'Kerberos', timeoutMs: 1000 });
  const ctx = new SspiInitiator(s.ffi, {
    credential,
    targetName: 'HTTP/srv01.corp.example',
    timeoutMs: 1000,
    ...(o.decrypt ? { decrypt: o.decrypt } : {}),
    ...(o.cb ? { channelBindings: new Uint8Array([1, 2, 3]) } : {}),
  });
  return { ...s, credential, ctx };
}

describe('SspiInitiator: the InitializeSecurityContextW loop', () => {
  it('SEC_I_CONTINUE_NEEDED, then the server token and SEC_E_OK: complete, sizes read, every token freed', async () => {
    const { ctx, log, inputs, live, credential, achAuthData } = await started([
      { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60, 1] },
      { status: SSPI.SEC_E_OK },
    ]);
    expect(achAuthData()).toBeNull(); // no -Credential: the logon session's
    expect(await ctx.step()).toEqual(new Uint8Array([0x60, 1]));
    expect(ctx.complete).toBe(false);
    expect(await ctx.step(new Uint8Array([0x6f, 9]))).toEqual(new Uint8Array(0));
    expect(ctx.complete).toBe(true);
    expect(ctx.sizes).toEqual({ maxToken: 100, maxSignature: 16, blockSize: 8, securityTrailer: 64 });
    expect(inputs).toEqual([
      { tokens: [], bindings: 0 },
      { tokens: [[0x6f, 9]], bindings: 0 },
    ]);
    expect(live.size).toBe(0);
    ctx.dispose();
    credential.dispose();
    expect(log.filter((l) => l === 'Delete' || l === 'FreeCred')).toEqual(['Delete', 'FreeCred']);
    ctx.dispose(); // idempotent
    expect(log.filter((l) => l === 'Delete')).toHaveLength(1);
  });

  it('SEC_E_OK with a last token on the first call: complete at once, the token returned', async () => {
    const { ctx } = await started([{ status: SSPI.SEC_E_OK, token: [5, 6, 7] }]);
    expect(await ctx.step()).toEqual(new Uint8Array([5, 6, 7]));
    expect(ctx.complete).toBe(true);
  });

  it('SEC_I_COMPLETE_NEEDED: CompleteAuthToken is called before the token is freed', async () => {
    const { ctx, log } = await started([{ status: SSPI.SEC_I_COMPLETE_NEEDED, token: [1] }]);
    expect(await ctx.step()).toEqual(new Uint8Array([1]));
    expect(ctx.complete).toBe(true);
    expect(log.indexOf('Complete')).toBeGreaterThan(-1);
    expect(log.indexOf('Complete')).toBeLessThan(log.indexOf('FreeBuf'));
  });

  it('the channel bindings go with every call', async () => {
    const { ctx, inputs } = await started(
      [{ status: SSPI.SEC_I_CONTINUE_NEEDED, token: [1] }, { status: SSPI.SEC_E_OK }],
      { cb: true },
    );
    await ctx.step();
    await ctx.step(new Uint8Array([2]));
    expect(inputs.map((i) => i.bindings)).toEqual([1, 1]);
  });

  it('completion without MUTUAL_AUTH (or without CONFIDENTIALITY) is refused', async () => {
    const a = await started([
      { status: SSPI.SEC_E_OK, attrs: SSPI.ISC_RET_CONFIDENTIALITY | SSPI.ISC_RET_INTEGRITY },
    ]);
    const e = await a.ctx.step().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SspiError);
    expect((e as SspiError).status.code).toBe(0x80090363);
    expect((e as SspiError).status.text).toContain('lacks MUTUAL_AUTH');
    expect(a.ctx.complete).toBe(false);
    const b = await started([
      { status: SSPI.SEC_E_OK, attrs: SSPI.ISC_RET_MUTUAL_AUTH | SSPI.ISC_RET_INTEGRITY },
    ]);
    await expect(b.ctx.step()).rejects.toThrow(/lacks CONFIDENTIALITY/);
  });

  // NTLM has no server proof (MS-NLMP), so Windows' Negotiate package completes an NTLM logon without
  // ISC_RET_MUTUAL_AUTH; which package it chose is SECPKG_ATTR_NEGOTIATION_INFO (12):
  // https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secpkgcontext_negotiationinfow
  it('Negotiate that settled on NTLM completes without MUTUAL_AUTH; the SecPkgInfoW is freed', async () => {
    const s = await started(
      [
        { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60], attrs: 0 },
        { status: SSPI.SEC_E_OK, attrs: SSPI.ISC_RET_CONFIDENTIALITY | SSPI.ISC_RET_INTEGRITY },
      ],
      { pkg: 'Negotiate', negotiated: 'NTLM' },
    );
    await s.ctx.step();
    await s.ctx.step(new Uint8Array([0xa1]));
    expect(s.ctx.complete).toBe(true);
    expect(s.ctx.negotiatedPackage).toBe('NTLM');
    expect(s.live.size).toBe(0);
    expect(s.log.filter((l) => l === 'QCA')).toHaveLength(2); // NEGOTIATION_INFO, then SIZES
  });

  it('without MUTUAL_AUTH, Negotiate on Kerberos, the Kerberos package, or an unanswered query is still refused', async () => {
    const noMutual = SSPI.ISC_RET_CONFIDENTIALITY | SSPI.ISC_RET_INTEGRITY;
    for (const o of [
      { pkg: 'Negotiate' as const, negotiated: 'Kerberos' },
      { pkg: 'Kerberos' as const, negotiated: 'NTLM' },
      { pkg: 'Negotiate' as const },
    ]) {
      const s = await started([{ status: SSPI.SEC_E_OK, attrs: noMutual }], o);
      await expect(s.ctx.step()).rejects.toThrow(/lacks MUTUAL_AUTH/);
      expect(s.ctx.complete).toBe(false);
      expect(s.live.size).toBe(0);
    }
    // NTLM must still grant confidentiality.
    const c = await started([{ status: SSPI.SEC_E_OK, attrs: SSPI.ISC_RET_INTEGRITY }], {
      pkg: 'Negotiate',
      negotiated: 'NTLM',
    });
    await expect(c.ctx.step()).rejects.toThrow(/lacks CONFIDENTIALITY/);
  });

  it('statuses handed back signed (SECURITY_STATUS is a LONG) read the same as unsigned', async () => {
    const ok = await started(
      [{ status: SSPI.SEC_I_CONTINUE_NEEDED, token: [1] }, { status: SSPI.SEC_E_OK }],
      { signed: true },
    );
    expect(await ok.ctx.step()).toEqual(new Uint8Array([1]));
    expect(ok.ctx.complete).toBe(false);
    await ok.ctx.step(new Uint8Array([2]));
    expect(ok.ctx.complete).toBe(true);
    const bad = await started([{ status: 0x8009030c }], { signed: true });
    const e = await bad.ctx.step().catch((x: unknown) => x);
    expect((e as SspiError).status.code).toBe(0x8009030c);
  });

  it('a failure status is an SspiError with the code; the output buffer is still freed', async () => {
    const { ctx, live } = await started([{ status: 0x8009030c, token: [1, 2] }]);
    const e = await ctx.step().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SspiError);
    expect((e as SspiError).status).toEqual({
      call: 'InitializeSecurityContextW',
      code: 0x8009030c,
      text: 'The logon attempt failed',
    });
    expect(live.size).toBe(0);
  });
});

describe('SspiInitiator: EncryptMessage and DecryptMessage', () => {
  const ready = async (o: { padding?: number; qop?: number; decrypt?: 'stream' | 'token' } = {}) => {
    const s = await started([{ status: SSPI.SEC_E_OK }], o);
    await s.ctx.step();
    return s;
  };

  it('wrap: the header is the token as long as SSPI left it; data then padding', async () => {
    const { ctx } = await ready({ padding: 2 });
    const w = ctx.wrap(new Uint8Array([0x00, 0xff, 0x10]));
    expect(w.header).toEqual(new Uint8Array([1, 2, 3]));
    expect(w.data).toEqual(new Uint8Array([0x5a, 0xa5, 0x4a, 0xee, 0xee]));
    expect(ctx.wrap(new Uint8Array(0)).data).toEqual(new Uint8Array([0xee, 0xee]));
  });

  it('unwrap, token form (default): DATA decrypted in place', async () => {
    const { ctx, log } = await ready();
    expect(ctx.unwrap(new Uint8Array([1, 2, 3]), new Uint8Array([0x5a, 0xa5]))).toEqual(
      new Uint8Array([0, 0xff]),
    );
    expect(log).toContain('Decrypt');
  });

  it('unwrap, stream form: the plaintext is read where DATA points, inside the stream', async () => {
    const { ctx } = await ready({ decrypt: 'stream' });
    expect(ctx.unwrap(new Uint8Array([1, 2, 3]), new Uint8Array([0x5a, 0xa5, 0x5b]))).toEqual(
      new Uint8Array([0, 0xff, 1]),
    );
  });

  it('a message signed but not encrypted (SECQOP_WRAP_NO_ENCRYPT) is refused', async () => {
    const { ctx } = await ready({ qop: SSPI.SECQOP_WRAP_NO_ENCRYPT });
    expect(() => ctx.unwrap(new Uint8Array([1, 2, 3]), new Uint8Array([1]))).toThrow(
      /signed but not encrypted/,
    );
  });

  it('before completion or after dispose, wrap refuses', async () => {
    const s = await started([{ status: SSPI.SEC_I_CONTINUE_NEEDED, token: [1] }]);
    expect(() => s.ctx.wrap(new Uint8Array([1]))).toThrow(/not established/);
    const r = await ready();
    r.ctx.dispose();
    expect(() => r.ctx.wrap(new Uint8Array([1]))).toThrow(/not established/);
  });
});

describe('SspiCredential', () => {
  it('an explicit credential passes a SEC_WINNT_AUTH_IDENTITY_W, wiped and freed after the call', async () => {
    const s = scripted([]);
    const cred = await SspiCredential.acquire(s.ffi, {
      package: 'Negotiate',
      userName: 'CORP\\alice',
      password: 'secret',
      timeoutMs: 1000,
    });
    expect(typeof s.achAuthData()).toBe('bigint');
    expect(cred.package).toBe('Negotiate');
    cred.dispose();
    expect(() => cred.handle).toThrow(/released/);
  });
});

describe('kerberosAuth over SSPI: the last leg and a refused EncryptMessage', () => {
  const url = new URL('http://srv01.corp.example:5985/wsman');
  const body = new TextEncoder().encode('<s:Envelope/>');
  const b64 = (b: number[]) => Buffer.from(b).toString('base64');

  async function handshake(legs: Leg[], o: { encryptStatus?: number } = {}) {
    const s = scripted(legs, o);
    const auth = kerberosAuth({
      sspi: { functions: (s.ffi as { f: Secur32Functions }).f },
      kdcTimeoutMs: 1000,
    });
    const first = await auth.prepare({ lane: 'a', url, body, attempt: 0 });
    expect(first.headers.authorization).toBe(`Kerberos ${b64([0x60, 1])}`);
    expect(first.handshake).toBe(true);
    const done = auth.challenge?.({
      lane: 'a',
      status: 200,
      headers: { 'www-authenticate': `Kerberos ${b64([0x6f, 2])}` },
      body: new Uint8Array(0),
    });
    return { s, auth, done };
  }

  // InitializeSecurityContextW documents SEC_E_OK with an output token to send; after the server's 200 nothing can
  // carry it, and the context is complete with mutual authentication: the lane is established.
  // https://learn.microsoft.com/windows/win32/api/sspi/nf-sspi-initializesecuritycontextw
  it("SEC_E_OK with a last token on the server's 200: established, the token dropped, bodies sealed", async () => {
    const { s, auth, done } = await handshake([
      { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60, 1] },
      { status: SSPI.SEC_E_OK, token: [9, 9] },
    ]);
    expect(await done).toBe(true);
    const sealed = await auth.prepare({ lane: 'a', url, body, attempt: 1 });
    expect(sealed.headers['content-type']).toContain('application/HTTP-Kerberos-session-encrypted');
    expect(s.log).toContain('Encrypt');
    expect(s.live.size).toBe(0);
    auth.dispose();
  });

  it("SEC_I_CONTINUE_NEEDED on the server's 200 is still refused: the context is not complete", async () => {
    const { auth, done } = await handshake([
      { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60, 1] },
      { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [9] },
    ]);
    await expect(done).rejects.toThrow(/before the security context was complete/);
    auth.dispose();
  });

  it('EncryptMessage failing (SEC_E_CONTEXT_EXPIRED) is a PowerShell-style error and the lane logs on again', async () => {
    const { s, auth, done } = await handshake(
      [
        { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60, 1] },
        { status: SSPI.SEC_E_OK },
        { status: SSPI.SEC_I_CONTINUE_NEEDED, token: [0x60, 1] },
      ],
      { encryptStatus: 0x80090317 },
    );
    expect(await done).toBe(true);
    const e = await Promise.resolve()
      .then(() => auth.prepare({ lane: 'a', url, body, attempt: 1 }))
      .catch((x: unknown) => x);
    expect(isPSRemotingError(e)).toBe(true);
    expect(String((e as Error).message)).toContain('0x80090317');
    // The lane was dropped: the next request starts a new context (a new first token).
    const again = await auth.prepare({ lane: 'a', url, body, attempt: 0 });
    expect(again.headers.authorization).toBe(`Kerberos ${b64([0x60, 1])}`);
    expect(s.log.filter((l) => l === 'ISC')).toHaveLength(3);
    auth.dispose();
  });
});
