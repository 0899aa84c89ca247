import { describe, expect, it } from 'vitest';
import { decodeKey, splitKey } from './key-decode.ts';

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

describe('splitKey: one key from what the terminal sent, the rest kept', () => {
  it.each([
    ['abc', 'a', 'bc'],
    ['\x1b[Axyz', '\x1b[A', 'xyz'],
    ['\x1b[24~q', '\x1b[24~', 'q'],
    ['\x1b[1;5Cz', '\x1b[1;5C', 'z'],
    ['\x1bxy', '\x1bx', 'y'],
    ['\x1b', '\x1b', ''],
    ['😀!', '😀', '!'],
    ['\x1b[Z\t', '\x1b[Z', '\t'],
  ])('%j', (text, first, rest) => {
    expect(splitKey(text)).toEqual([first, rest]);
  });
  it('Shift+Tab is Tab with Shift', () => {
    expect(decodeKey('\x1b[Z')).toMatchObject({ virtualKeyCode: 9, character: '\t', controlKeyState: 0x10 });
  });
});
