import { concatBytes, fromHex, hex, utf16le } from '../bytes.ts';
import { mac, sealKey, signKey } from '../ntlm-crypto.ts';
import { AvId, encodeAvPairs } from '../ntlm-messages.ts';
import { Rc4 } from '../rc4.ts';

/**
 * Test-only: the server's half of NTLM session security, derived from the exported session key by the
 * MS-NLMP 3.4 formulas (the real independent peer is test/acceptor; this one runs without packages).
 */
export function fakeServer(sessionKey: Uint8Array, flags: number) {
  const out = {
    handle: new Rc4(sealKey(flags, sessionKey, 'server')),
    key: signKey(sessionKey, 'server'),
    seq: 0,
  };
  const inn = {
    handle: new Rc4(sealKey(flags, sessionKey, 'client')),
    key: signKey(sessionKey, 'client'),
    seq: 0,
  };
  return {
    wrap(plain: Uint8Array) {
      const data = out.handle.update(plain);
      const header = mac(out.handle, out.key, out.seq++, plain, true);
      return { header, data };
    },
    unwrap(header: Uint8Array, data: Uint8Array) {
      const plain = inn.handle.update(data);
      const expected = mac(inn.handle, inn.key, inn.seq++, plain, true);
      return { plain, ok: hex(expected) === hex(header) };
    },
    /** GetMIC with the RC4 state kept (MS-SPNG 3.2.5.1), as for a mechListMIC. */
    mechListMic(data: Uint8Array) {
      return mac(out.handle.clone(), out.key, out.seq++, data, true);
    },
    /** VerifyMIC of the client's mechListMIC, RC4 state kept. */
    verifyClientMic(data: Uint8Array, mic: Uint8Array) {
      return hex(mac(inn.handle.clone(), inn.key, inn.seq++, data, true)) === hex(mic);
    },
  };
}

/** A CHALLENGE_MESSAGE like a modern Windows server's: NetBIOS and DNS names, a timestamp. */
export function windowsLikeChallenge(
  extra: { flags?: number; pairs?: { id: number; value: Uint8Array }[] } = {},
) {
  const ti = encodeAvPairs(
    extra.pairs ?? [
      { id: AvId.NbDomainName, value: utf16le('DOMAIN') },
      { id: AvId.NbComputerName, value: utf16le('SERVER') },
      { id: AvId.DnsComputerName, value: utf16le('server.domain.test') },
      { id: AvId.Timestamp, value: fromHex('0090d336b734c301') },
    ],
  );
  const name = utf16le('DOMAIN');
  const head = new Uint8Array(56);
  const v = new DataView(head.buffer);
  head.set(new TextEncoder().encode('NTLMSSP\0'));
  v.setUint32(8, 2, true);
  v.setUint16(12, name.length, true);
  v.setUint16(14, name.length, true);
  v.setUint32(16, 56, true);
  v.setUint32(20, (extra.flags ?? 0xe28a8235) >>> 0, true);
  head.set(fromHex('1122334455667788'), 24);
  v.setUint16(40, ti.length, true);
  v.setUint16(42, ti.length, true);
  v.setUint32(44, 56 + name.length, true);
  return concatBytes(head, name, ti);
}
