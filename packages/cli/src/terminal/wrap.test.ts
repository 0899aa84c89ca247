import { describe, expect, it } from 'vitest';
import { wrapToWidth } from './wrap.ts';

describe('wrapToWidth: a prompt caption or message wrapped as pwsh does (WrapText)', () => {
  it('breaks before a word that does not fit; blanks that do not fit end the line', () => {
    expect(wrapToWidth('aaa bbb ccc', 7)).toBe('aaa bbb\n ccc');
    expect(wrapToWidth('aaa bbb ccc', 8)).toBe('aaa bbb \nccc');
    expect(wrapToWidth('aaa bbb ccc', 5)).toBe('aaa \nbbb \nccc');
    expect(wrapToWidth('short', 80)).toBe('short');
  });

  it('cuts a word longer than the line; keeps the text own line breaks, not a final one', () => {
    expect(wrapToWidth('abcdefghij', 4)).toBe('abcd\nefgh\nij');
    expect(wrapToWidth('a\n\nb\n', 10)).toBe('a\n\nb');
    expect(wrapToWidth('x y', 0)).toBe('x y');
  });

  it('the credential warning at 120 columns breaks where pwsh breaks it', () => {
    const text =
      'Warning: A script or application on the remote computer 127.0.0.1 is requesting your credentials. Enter your credentials only if you trust the remote computer and the application or script that is requesting them.';
    const [first, second] = wrapToWidth(text, 119).split('\n');
    expect(first?.trimEnd()).toMatch(/Enter your$/);
    expect(second).toMatch(/^credentials only if you trust/);
  });
});
