import { describe, expect, it } from 'vitest';
import { decodeKey } from './key-decode.ts';

const k = (t: string) => {
  const r = decodeKey(t);
  return [r.virtualKeyCode, r.character, r.controlKeyState];
};

describe('decodeKey: terminal bytes to the KeyInfo of the console host', () => {
  it.each([
    ['q', [81, 'q', 0]],
    ['Q', [81, 'Q', 0x10]],
    ['7', [55, '7', 0]],
    [' ', [32, ' ', 0]],
    ['\r', [13, '\r', 0]],
    ['\t', [9, '\t', 0]],
    ['\x7f', [8, '\b', 0]],
    ['\x1b', [27, '\x1b', 0]],
    ['\x03', [67, '\x03', 0x8]],
    ['\x1b[A', [38, '\0', 0]],
    ['\x1bOD', [37, '\0', 0]],
    ['\x1b[3~', [46, '\0', 0]],
    ['\x1b[24~', [123, '\0', 0]],
    ['\x1bx', [88, 'x', 0x2]],
    ['é', [0, 'é', 0]],
    ['😀', [0, '😀', 0]],
    ['\x1b[99~', [27, '\x1b', 0]],
  ])('%j', (text, want) => {
    expect(k(text)).toEqual(want);
  });
});
