import type { KeyInfo } from '@psremote/core';

/** System.Management.Automation.Host.ControlKeyStates flags. */
const LEFT_ALT = 0x2;
const LEFT_CTRL = 0x8;
const SHIFT = 0x10;

/** ConsoleKey / virtual-key codes of the keys a terminal sends as escape sequences. */
const SEQUENCES: Readonly<Record<string, number>> = {
  '\x1b[A': 38, // UpArrow
  '\x1b[B': 40, // DownArrow
  '\x1b[C': 39, // RightArrow
  '\x1b[D': 37, // LeftArrow
  '\x1bOA': 38,
  '\x1bOB': 40,
  '\x1bOC': 39,
  '\x1bOD': 37,
  '\x1b[H': 36, // Home
  '\x1b[F': 35, // End
  '\x1bOH': 36,
  '\x1bOF': 35,
  '\x1b[1~': 36,
  '\x1b[4~': 35,
  '\x1b[2~': 45, // Insert
  '\x1b[3~': 46, // Delete
  '\x1b[5~': 33, // PageUp
  '\x1b[6~': 34, // PageDown
  '\x1bOP': 112, // F1..F4
  '\x1bOQ': 113,
  '\x1bOR': 114,
  '\x1bOS': 115,
  '\x1b[15~': 116, // F5..F12
  '\x1b[17~': 117,
  '\x1b[18~': 118,
  '\x1b[19~': 119,
  '\x1b[20~': 120,
  '\x1b[21~': 121,
  '\x1b[23~': 122,
  '\x1b[24~': 123,
};
/** Shift+Tab (back-tab). */
const BACK_TAB = '\x1b[Z';

/**
 * Splits the bytes a terminal sent into the first key and the rest (typed ahead, pasted): an escape sequence
 * (the longest known one, or ESC + one character for Alt+key, or a CSI/SS3 sequence up to its final byte), else
 * one character.
 */
export function splitKey(text: string): [string, string] {
  if (text.startsWith('\x1b')) {
    let best = '';
    for (const seq of [...Object.keys(SEQUENCES), BACK_TAB])
      if (text.startsWith(seq) && seq.length > best.length) best = seq;
    if (best) return [best, text.slice(best.length)];
    const csi = /^\x1b(?:\[[0-9;]*[@-~]|O[@-~])/.exec(text);
    if (csi) return [csi[0], text.slice(csi[0].length)];
    if (text.length >= 2) {
      const next = String.fromCodePoint(text.codePointAt(1) ?? 0);
      return [`\x1b${next}`, text.slice(1 + next.length)];
    }
    return ['\x1b', ''];
  }
  const first = String.fromCodePoint(text.codePointAt(0) ?? 0);
  return [first, text.slice(first.length)];
}

/**
 * One key press as the console host's ReadKey reports it (KeyInfo: VirtualKeyCode, Character, ControlKeyState,
 * KeyDown), from the bytes a terminal in raw mode sends for it: printable characters, Enter, Tab, Backspace,
 * Escape, Ctrl+letter, Alt+key (ESC prefix), and the escape sequences of arrows, Home/End, Insert/Delete,
 * PageUp/PageDown and F1-F12. Other sequences give the Escape key.
 */
export function decodeKey(text: string): KeyInfo {
  const key = (virtualKeyCode: number, character: string, controlKeyState = 0): KeyInfo => ({
    virtualKeyCode,
    character,
    controlKeyState,
    keyDown: true,
  });
  const seq = SEQUENCES[text];
  if (seq !== undefined) return key(seq, '\0');
  if (text === BACK_TAB) return key(9, '\t', SHIFT);
  const ch = String.fromCodePoint(text.codePointAt(0) ?? 0);
  if (text.length > ch.length && ch === '\x1b') {
    const rest = text.slice(1);
    if (rest.length === 1 && rest !== '[' && rest !== 'O') {
      const k = decodeKey(rest);
      return { ...k, controlKeyState: k.controlKeyState | LEFT_ALT };
    }
    return key(27, '\x1b');
  }
  switch (ch) {
    case '\r':
    case '\n':
      return key(13, '\r');
    case '\t':
      return key(9, '\t');
    case '\x7f':
    case '\b':
      return key(8, '\b');
    case '\x1b':
      return key(27, '\x1b');
    case ' ':
      return key(32, ' ');
  }
  const c = ch.charCodeAt(0);
  if (c >= 1 && c <= 26) return key(64 + c, ch, LEFT_CTRL); // Ctrl+A .. Ctrl+Z
  if (ch >= 'a' && ch <= 'z') return key(ch.toUpperCase().charCodeAt(0), ch);
  if (ch >= 'A' && ch <= 'Z') return key(c, ch, SHIFT);
  if (ch >= '0' && ch <= '9') return key(c, ch);
  // Punctuation and other characters: no virtual key this side can know (the layout decides); PowerShell scripts
  // read Character for these.
  return key(0, ch);
}
