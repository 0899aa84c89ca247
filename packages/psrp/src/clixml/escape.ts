/**
 * PowerShell's CLIXML string escaping (serialization.cs EncodeString/DecodeString; MS-PSRP 2.2.5.3.2):
 * control characters 0x00-0x1F, 0x7F-0x9F, every surrogate code unit, and `_` before `x`/`X` become
 * `_xHHHH_` (uppercase hex of the UTF-16 code unit). Decoding takes only well-formed escapes (either hex case).
 */
function needsEscape(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff);
}

const hex4 = (c: number) => c.toString(16).toUpperCase().padStart(4, '0');

export function encodeClixmlString(s: string): string {
  let out = '';
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
      out += s.slice(last, i) + esc;
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export function decodeClixmlString(s: string): string {
  let i = s.indexOf('_');
  if (i < 0 || i + 6 >= s.length) return s;
  let out = '';
  let last = 0;
  for (i = 0; i + 6 < s.length; ) {
    if (
      s.charCodeAt(i) === 0x5f &&
      (s.charCodeAt(i + 1) === 0x78 || s.charCodeAt(i + 1) === 0x58) &&
      isHex(s.charCodeAt(i + 2)) &&
      isHex(s.charCodeAt(i + 3)) &&
      isHex(s.charCodeAt(i + 4)) &&
      isHex(s.charCodeAt(i + 5)) &&
      s.charCodeAt(i + 6) === 0x5f
    ) {
      out += s.slice(last, i) + String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 6), 16));
      i += 7;
      last = i;
    } else i++;
  }
  return last === 0 ? s : out + s.slice(last);
}

/** XML text escaping for element content and attribute values. */
export function escapeXml(s: string): string {
  if (!/[&<>"]/.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
