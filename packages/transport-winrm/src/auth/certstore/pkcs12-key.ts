/**
 * The private key of a PKCS#12 whose certificates OpenSSL 3 cannot decrypt. A Windows before 10 1709 / Server 2019
 * (Windows Server 2016 among them) has no PKCS12_EXPORT_PBES2_PARAMS: PFXExportCertStoreEx encrypts the certificates
 * with RC2-40, which Node's OpenSSL 3 reads only with its legacy provider, so Node refuses the whole PFX. The key,
 * though, sits in a pkcs8ShroudedKeyBag under pbeWithSHAAnd3-KeyTripleDES-CBC, which OpenSSL 3 decrypts by default;
 * and psremote has the certificate already (from the store's CERT_CONTEXT). So the key bag is picked out here and
 * handed to `createPrivateKey` as an encrypted PKCS#8.
 *
 * RFC 7292: PFX ::= SEQUENCE { version, authSafe ContentInfo, macData OPTIONAL }; authSafe is `data` whose OCTET
 * STRING holds AuthenticatedSafe ::= SEQUENCE OF ContentInfo; a `data` ContentInfo there holds SafeContents ::=
 * SEQUENCE OF SafeBag { bagId, [0] EXPLICIT bagValue, bagAttributes SET OPTIONAL }. Only DER (definite lengths) is
 * read, as Windows writes it; anything else answers undefined and the caller says what it would have said.
 */

/** 1.2.840.113549.1.7.1 (id-data), DER contents. */
const ID_DATA = Buffer.from('2a864886f70d010701', 'hex');
/** 1.2.840.113549.1.12.10.1.2 (pkcs8ShroudedKeyBag), DER contents. */
const ID_SHROUDED_KEY_BAG = Buffer.from('2a864886f70d010c0a0102', 'hex');

interface Tlv {
  readonly tag: number;
  /** The contents. */
  readonly value: Buffer;
  /** The whole element, header included. */
  readonly whole: Buffer;
}

/** The DER elements one after another in `b`; throws on anything but definite lengths that fit. */
function elements(b: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) throw new RangeError('truncated');
    const tag = b[at] as number;
    if ((tag & 0x1f) === 0x1f) throw new RangeError('high tag');
    let len = b[at + 1] as number;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || at + 2 + n > b.length) throw new RangeError('length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (b[at + 2 + i] as number);
      header += n;
    }
    const end = at + header + len;
    if (end > b.length) throw new RangeError('truncated');
    out.push({ tag, value: b.subarray(at + header, end), whole: b.subarray(at, end) });
    at = end;
  }
  return out;
}

function one(b: Buffer, tag: number): Tlv {
  const [e, ...rest] = elements(b);
  if (!e || e.tag !== tag || rest.length > 0) throw new RangeError('unexpected element');
  return e;
}

/** The OCTET STRING a `data` ContentInfo carries, or undefined for another content type (encryptedData). */
function dataContent(contentInfo: Tlv): Buffer | undefined {
  const [type, content] = elements(contentInfo.value);
  if (type?.tag !== 0x06 || !type.value.equals(ID_DATA) || content?.tag !== 0xa0) return undefined;
  return one(content.value, 0x04).value;
}

/** The EncryptedPrivateKeyInfo (DER) of the first pkcs8ShroudedKeyBag outside encrypted contents, if any. */
export function pkcs12ShroudedKey(pfx: Buffer): Buffer | undefined {
  try {
    const [version, authSafe] = elements(one(pfx, 0x30).value);
    if (version?.tag !== 0x02 || authSafe?.tag !== 0x30) return undefined;
    const safes = dataContent(authSafe);
    if (!safes) return undefined;
    for (const contentInfo of elements(one(safes, 0x30).value)) {
      if (contentInfo.tag !== 0x30) return undefined;
      const contents = dataContent(contentInfo);
      if (!contents) continue;
      for (const bag of elements(one(contents, 0x30).value)) {
        const [id, value] = elements(bag.value);
        if (id?.tag === 0x06 && id.value.equals(ID_SHROUDED_KEY_BAG) && value?.tag === 0xa0)
          return Buffer.from(one(value.value, 0x30).whole);
      }
    }
    return undefined;
  } catch {
    return undefined;
  }
}
