/**
 * RC4, as a streaming handle. Node 20's OpenSSL 3 refuses `createCipheriv('rc4')`. NTLM session security keeps
 * one handle per direction for the whole connection (MS-NLMP 3.4.3: "RC4 ... the handle is not reinitialized
 * between messages"), so the key stream continues from message to message.
 */
const ONE_BYTE = new Uint8Array(1);

export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes');
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
  }

  /** Zeroes the key state (the handle is unusable after). */
  dispose(): void {
    this.#s.fill(0);
    this.#i = 0;
    this.#j = 0;
  }

  /** Encrypts (or decrypts: the same operation) the next bytes of the stream. */
  update(data: Uint8Array): Uint8Array {
    const s = this.#s;
    const out = new Uint8Array(data.length);
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }

  /** A copy of the current state (MS-SPNG 3.3.5.1 restores the handle after the mechListMIC). */
  clone(): Rc4 {
    const c = new Rc4(ONE_BYTE);
    c.#s.set(this.#s);
    c.#i = this.#i;
    c.#j = this.#j;
    return c;
  }
}

/** RC4K(key, data) of MS-NLMP 6: a fresh handle used once. */
export function rc4k(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Rc4(key).update(data);
}
