import { describe, expect, it } from 'vitest';
import { decodeClixmlString, encodeClixmlString } from './escape.ts';

describe('CLIXML string escaping (MS-PSRP 2.2.5.3.2, serialization.cs)', () => {
  it.each([
    ['Order\nDetails', 'Order_x000A_Details'],
    ['_x0020_', '_x005F_x0020_'],
    ['tab\there', 'tab_x0009_here'],
    ['\u0085next', '_x0085_next'],
    ['\u007f', '_x007F_'],
    ['🎵', '_xD83C__xDFB5_'],
    ['plain_text', 'plain_text'],
    ['_X', '_x005F_X'],
  ])('encodes %j as %j', (plain, wire) => {
    expect(encodeClixmlString(plain)).toBe(wire);
    expect(decodeClixmlString(wire)).toBe(plain);
  });
  it.each([
    ['_xD83C__xDFB5_', '🎵'],
    ['_x005F_x005F_', '_x005F_'],
    ['_x005F__x000A_', '_\n'],
    ['_x005f_', '_'],
    ['_x005G_', '_x005G_'],
    ['_x00', '_x00'],
    ['_xD800_', '\ud800'],
  ])('decodes %j as %j (psrpcore vectors)', (wire, plain) => {
    expect(decodeClixmlString(wire)).toBe(plain);
  });
  // Each observed from pwsh 7.6.9's [PSSerializer]::Deserialize (XmlConvert.DecodeName).
  it.each([
    ['_X0041_', 'A'],
    ['_x0001F3B5_', '🎵'],
    ['_x0001f3b5_', '🎵'],
    ['_x0000004A_', 'J'],
    ['_x0000FFFF_', '\uffff'],
    ['_x00110000_', '_x00110000_'],
    ['_x00410042_', '_x00410042_'],
    ['_x0041_x0042_', 'Ax0042_'],
    ['__x0041_', '_A'],
    ['_x004_', '_x004_'],
    ['_xD800__x0041_', '\ud800A'],
    ['_x0041__x0042_', 'AB'],
  ])('decodes %j as %j as pwsh does', (wire, plain) => {
    expect(decodeClixmlString(wire)).toBe(plain);
  });
  it('escapes U+FFFE and U+FFFF, which are not XML characters', () => {
    expect(encodeClixmlString('a\ufffe\uffffb')).toBe('a_xFFFE__xFFFF_b');
  });
});
