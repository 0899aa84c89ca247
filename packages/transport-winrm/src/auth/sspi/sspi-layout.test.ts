import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildAuthIdentity, buildChannelBindings, sspiIdentityParts } from './sspi-context.ts';
import { loadSspi, SECUR32_SIGNATURES, type Secur32Functions, type SspiFfi, sspiTypes } from './sspi-ffi.ts';

// koffi runs here (Linux); the structs are declared with explicit widths, so their layout is the one 64-bit
// Windows (x64, arm64: LLP64) has. Expected sizes and offsets: sspi.h on x64 (ULONG 4 bytes, pointers and ULONG_PTR 8).
const koffi = createRequire(import.meta.url)('koffi') as {
  sizeof(t: unknown): number;
  offsetof(t: unknown, member: string): number;
  alignof(t: unknown): number;
  view(p: bigint, n: number): ArrayBuffer;
  decode(p: bigint, t: unknown): Record<string, unknown>;
  free(p: bigint): void;
};
const types = sspiTypes(koffi as never);

const layout = (t: unknown, members: string[]) => ({
  size: koffi.sizeof(t),
  offsets: Object.fromEntries(members.map((m) => [m, koffi.offsetof(t, m)])),
});

describe('sspi.h struct layouts for 64-bit Windows', () => {
  it('SecHandle (CredHandle, CtxtHandle): two ULONG_PTR, 16 bytes', () => {
    expect(layout(types.secHandle, ['dwLower', 'dwUpper'])).toEqual({
      size: 16,
      offsets: { dwLower: 0, dwUpper: 8 },
    });
  });

  it('SecBuffer: ULONG, ULONG, PVOID: 16 bytes, pvBuffer at 8', () => {
    expect(layout(types.secBuffer, ['cbBuffer', 'BufferType', 'pvBuffer'])).toEqual({
      size: 16,
      offsets: { cbBuffer: 0, BufferType: 4, pvBuffer: 8 },
    });
  });

  it('SecBufferDesc: ULONG, ULONG, PSecBuffer: 16 bytes', () => {
    expect(layout(types.secBufferDesc, ['ulVersion', 'cBuffers', 'pBuffers'])).toEqual({
      size: 16,
      offsets: { ulVersion: 0, cBuffers: 4, pBuffers: 8 },
    });
  });

  it('SEC_WINNT_AUTH_IDENTITY_W: pointers at 0/16/32 after padding, Flags at 44, 48 bytes', () => {
    expect(
      layout(types.authIdentity, [
        'User',
        'UserLength',
        'Domain',
        'DomainLength',
        'Password',
        'PasswordLength',
        'Flags',
      ]),
    ).toEqual({
      size: 48,
      offsets: {
        User: 0,
        UserLength: 8,
        Domain: 16,
        DomainLength: 24,
        Password: 32,
        PasswordLength: 40,
        Flags: 44,
      },
    });
    expect(koffi.alignof(types.authIdentity)).toBe(8);
  });

  it('SecPkgContext_Sizes: four ULONGs, 16 bytes', () => {
    expect(layout(types.sizes, ['cbMaxToken', 'cbMaxSignature', 'cbBlockSize', 'cbSecurityTrailer'])).toEqual(
      {
        size: 16,
        offsets: { cbMaxToken: 0, cbMaxSignature: 4, cbBlockSize: 8, cbSecurityTrailer: 12 },
      },
    );
  });

  it('SEC_CHANNEL_BINDINGS: eight ULONGs, 32 bytes', () => {
    const members = [
      'dwInitiatorAddrType',
      'cbInitiatorLength',
      'dwInitiatorOffset',
      'dwAcceptorAddrType',
      'cbAcceptorLength',
      'dwAcceptorOffset',
      'cbApplicationDataLength',
      'dwApplicationDataOffset',
    ];
    expect(layout(types.channelBindings, members)).toEqual({
      size: 32,
      offsets: Object.fromEntries(members.map((m, i) => [m, i * 4])),
    });
  });
});

/** An SspiFfi whose functions are never called (the builders only lay out memory). */
function memoryOnly(): SspiFfi {
  const never = (() => {
    throw new Error('not called');
  }) as unknown as Secur32Functions[keyof Secur32Functions];
  const f = new Proxy({}, { get: () => never }) as Secur32Functions;
  return loadSspi({ functions: f });
}

function wide(ptr: bigint, chars: number): string {
  return Buffer.from(koffi.view(ptr, chars * 2)).toString('utf16le');
}

describe('the structs QueryContextAttributesW(SECPKG_ATTR_NEGOTIATION_INFO) fills, 64-bit Windows', () => {
  // https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secpkgcontext_negotiationinfow
  it('SecPkgContext_NegotiationInfoW: PSecPkgInfoW then ULONG: 16 bytes', () => {
    expect(layout(types.negotiationInfo, ['PackageInfo', 'NegotiationState'])).toEqual({
      size: 16,
      offsets: { PackageInfo: 0, NegotiationState: 8 },
    });
  });

  // https://learn.microsoft.com/windows/win32/api/sspi/ns-sspi-secpkginfow
  it('SecPkgInfoW: ULONG, USHORT, USHORT, ULONG, then Name at 16 and Comment at 24: 32 bytes', () => {
    expect(
      layout(types.pkgInfo, ['fCapabilities', 'wVersion', 'wRPCID', 'cbMaxToken', 'Name', 'Comment']),
    ).toEqual({
      size: 32,
      offsets: { fCapabilities: 0, wVersion: 4, wRPCID: 6, cbMaxToken: 8, Name: 16, Comment: 24 },
    });
  });
});

describe('identity and channel bindings in native memory', () => {
  it('splits DOMAIN\\user into User and Domain; a UPN or a bare user stays whole with no Domain', () => {
    expect(sspiIdentityParts('CORP\\alice')).toEqual({ user: 'alice', domain: 'CORP' });
    expect(sspiIdentityParts('alice@corp.example')).toEqual({ user: 'alice@corp.example', domain: '' });
    expect(sspiIdentityParts('alice')).toEqual({ user: 'alice', domain: '' });
    // Only the first backslash splits (as CredUIParseUserName does).
    expect(sspiIdentityParts('CORP\\a\\b')).toEqual({ user: 'a\\b', domain: 'CORP' });
  });

  it('SEC_WINNT_AUTH_IDENTITY_W: UTF-16 strings, lengths in characters without the NUL, UNICODE flag', () => {
    const ffi = memoryOnly();
    const id = buildAuthIdentity(ffi, 'CORP\\jösé', 'pä$$wörd€');
    try {
      const s = koffi.decode(id.ptr, types.authIdentity);
      expect(s.UserLength).toBe(4);
      expect(wide(s.User as bigint, 4)).toBe('jösé');
      expect(wide(s.User as bigint, 5).endsWith('\0')).toBe(true);
      expect(s.DomainLength).toBe(4);
      expect(wide(s.Domain as bigint, 4)).toBe('CORP');
      expect(s.PasswordLength).toBe(9);
      expect(wide(s.Password as bigint, 9)).toBe('pä$$wörd€');
      expect(s.Flags).toBe(2);
    } finally {
      id.free();
    }
    const upn = buildAuthIdentity(ffi, 'alice@corp.example', 'x');
    try {
      const s = koffi.decode(upn.ptr, types.authIdentity);
      expect(s.Domain).toBeNull();
      expect(s.DomainLength).toBe(0);
      expect(wide(s.User as bigint, s.UserLength as number)).toBe('alice@corp.example');
    } finally {
      upn.free();
    }
  });

  it('SEC_CHANNEL_BINDINGS: the application data right after the 32-byte header, offset from the start', () => {
    const ffi = memoryOnly();
    const app = new TextEncoder().encode('tls-server-end-point:0123456789abcdef');
    const cb = buildChannelBindings(ffi, app);
    try {
      expect(cb.length).toBe(32 + app.length);
      const s = koffi.decode(cb.ptr, types.channelBindings);
      expect(s.cbApplicationDataLength).toBe(app.length);
      expect(s.dwApplicationDataOffset).toBe(32);
      expect(s.cbInitiatorLength).toBe(0);
      expect(s.cbAcceptorLength).toBe(0);
      expect(new Uint8Array(koffi.view(cb.ptr + 32n, app.length))).toEqual(app);
    } finally {
      koffi.free(cb.ptr);
    }
  });
});

describe('the secur32 declarations', () => {
  it('every one parses with koffi; the package and target names are UTF-16 strings, the rest pointers and ULONGs', () => {
    const k = createRequire(import.meta.url)('koffi') as {
      proto(sig: string): unknown;
      type(t: unknown): {
        proto?: { arguments: { type: { name: string; primitive: string } }[]; result?: unknown };
      };
      introspect(t: unknown): {
        proto: { arguments: { type: { name: string; primitive: string; size: number } }[] };
      };
    };
    const shapes: Record<string, string[]> = {};
    for (const [name, sig] of Object.entries(SECUR32_SIGNATURES)) {
      const info = k.introspect(k.proto(sig.replace(`${name}(`, `psr_check_${name}(`)));
      shapes[name] = info.proto.arguments.map((a) =>
        a.type.primitive === 'String16'
          ? 'wstr'
          : a.type.primitive === 'Pointer'
            ? 'ptr'
            : `u${a.type.size * 8}`,
      );
    }
    expect(shapes).toEqual({
      AcquireCredentialsHandleW: ['ptr', 'wstr', 'u32', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr'],
      InitializeSecurityContextW: [
        'ptr',
        'ptr',
        'wstr',
        'u32',
        'u32',
        'u32',
        'ptr',
        'u32',
        'ptr',
        'ptr',
        'ptr',
        'ptr',
      ],
      QueryContextAttributesW: ['ptr', 'u32', 'ptr'],
      EncryptMessage: ['ptr', 'u32', 'ptr', 'u32'],
      DecryptMessage: ['ptr', 'ptr', 'u32', 'ptr'],
      CompleteAuthToken: ['ptr', 'ptr'],
      DeleteSecurityContext: ['ptr'],
      FreeCredentialsHandle: ['ptr'],
      FreeContextBuffer: ['ptr'],
    });
  });
});
