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
});
