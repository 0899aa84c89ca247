/**
 * PowerShell's CLIXML string escaping (serialization.cs EncodeString/DecodeString; MS-PSRP 2.2.5.3.2):
 * control characters 0x00-0x1F, 0x7F-0x9F, every surrogate code unit, and `_` before `x`/`X` become
 * `_xHHHH_` (uppercase hex of the UTF-16 code unit). Decoding takes only well-formed escapes (either hex case).
 */
function needsEscape(c: number): boolean {
  // U+FFFE/U+FFFF are not XML characters either: pwsh's own writer throws on them, its reader takes the escape.
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe;
}

const hex4 = (c: number) => c.toString(16).toUpperCase().padStart(4, '0');

export function encodeClixmlString(s: string): string {
  // Pieces joined once at the end (no string grown by += per escape).
  let parts: string[] | undefined;
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (needsEscape(c)) esc = `_x${hex4(c)}_`;
    else if (c === 0x5f /* _ */) {
      const n = s.charCodeAt(i + 1);
      if (n === 0x78 || n === 0x58) esc = '_x005F_';
    }
    if (esc !== undefined) {
      parts ??= [];
      if (i > last) parts.push(s.slice(last, i));
      parts.push(esc);
      last = i + 1;
    }
  }
  if (!parts) return s;
  if (last < s.length) parts.push(s.slice(last));
  return parts.join('');
}

/** The first n code units of `units` as a string, in chunks (fromCharCode's argument count is limited). */
export function utf16ToString(units: Uint16Array, n: number): string {
  const CHUNK = 8192;
  if (n <= CHUNK) return String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]);
  const parts: string[] = [];
  for (let k = 0; k < n; k += CHUNK)
    parts.push(
      String.fromCharCode.apply(null, units.subarray(k, Math.min(n, k + CHUNK)) as unknown as number[]),
    );
  return parts.join('');
}

/** The value of a hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** The value of `n` hex digits at s[at], or -1. */
function hexAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = hexDigit(s.charCodeAt(at + k));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * PowerShell reads strings with XmlConvert.DecodeName: `_xHHHH_` (one UTF-16 unit) and `_xHHHHHHHH_` (a code
 * point up to U+10FFFF, verified against pwsh 7.6), `x` or `X`, hex in either case; anything else stays as is.
 */
export function decodeClixmlString(s: string): string {
  let i = s.indexOf('_');
  const len = s.length;
  if (i < 0 || i + 6 >= len) return s;
  // Decoded text goes into one UTF-16 buffer (never longer than the input): one pass, and no string per escape
  // however many escapes the peer sends.
  let out: Uint16Array | undefined;
  let n = 0;
  let last = 0;
  while (i >= 0 && i + 6 < len) {
    const x = s.charCodeAt(i + 1);
    if (x === 0x78 || x === 0x58) {
      let cp = -1;
      let end = 0;
      if (s.charCodeAt(i + 6) === 0x5f) {
        cp = hexAt(s, i + 2, 4);
        end = i + 7;
      } else if (i + 10 < len && s.charCodeAt(i + 10) === 0x5f) {
        const u = hexAt(s, i + 2, 8);
        if (u <= 0x10ffff) cp = u;
        end = i + 11;
      }
      if (cp >= 0) {
        out ??= new Uint16Array(len);
        for (let k = last; k < i; k++) out[n++] = s.charCodeAt(k);
        if (cp > 0xffff) {
          out[n++] = 0xd800 + ((cp - 0x10000) >> 10);
          out[n++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        } else out[n++] = cp;
        last = end;
        i = s.indexOf('_', end);
        continue;
      }
    }
    i = s.indexOf('_', i + 1);
  }
  if (!out) return s;
  for (let k = last; k < len; k++) out[n++] = s.charCodeAt(k);
  return utf16ToString(out, n);
}

/** XML text escaping for element content and attribute values. */
export function escapeXml(s: string): string {
  if (!/[&<>"]/.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
