import type { CompletionResult } from '@psremote/core';
import { describe, expect, it } from 'vitest';
import { TabCycle } from './tab-cycle.ts';

const result = (
  replacementIndex: number,
  replacementLength: number,
  ...texts: string[]
): CompletionResult => ({
  replacementIndex,
  replacementLength,
  matches: texts.map((t) => ({ completionText: t, listItemText: t, resultType: 'Variable' })),
});

describe('TabCycle', () => {
  it('puts the first match in place of the replacement range, keeping the text after it', () => {
    const c = new TabCycle();
    const s = c.begin({ line: 'echo $ab | Out-Null', cursor: 8 }, result(5, 3, '$abc1', '$abc2'), false);
    expect(s).toEqual({ line: 'echo $abc1 | Out-Null', cursor: 10 });
  });

  it('Tab cycles forwards and wraps; Shift+Tab goes back', () => {
    const c = new TabCycle();
    let s = c.begin({ line: '$ab', cursor: 3 }, result(0, 3, '$abc1', '$abc2', '$abc3'), false);
    expect(s?.line).toBe('$abc1');
    expect(c.continues(s as { line: string; cursor: number })).toBe(true);
    s = c.step(false);
    expect(s.line).toBe('$abc2');
    s = c.step(false);
    expect(s.line).toBe('$abc3');
    s = c.step(false);
    expect(s.line).toBe('$abc1');
    s = c.step(true);
    expect(s).toEqual({ line: '$abc3', cursor: 5 });
  });

  it('Shift+Tab first takes the last match', () => {
    const c = new TabCycle();
    expect(
      c.begin({ line: 'Get-Ch', cursor: 6 }, result(0, 6, 'Get-ChildItem', 'Get-Checkpoint'), true)?.line,
    ).toBe('Get-Checkpoint');
  });

  it('an edit after the completion ends the cycle', () => {
    const c = new TabCycle();
    const s = c.begin({ line: '$ab', cursor: 3 }, result(0, 3, '$abc1', '$abc2'), false);
    expect(c.continues({ line: `${s?.line} `, cursor: 6 })).toBe(false);
    expect(c.continues({ line: s?.line ?? '', cursor: 2 })).toBe(false);
    c.reset();
    expect(c.continues(s as { line: string; cursor: number })).toBe(false);
  });

  it('no matches leave the line alone and no cycle', () => {
    const c = new TabCycle();
    expect(c.begin({ line: 'zzz', cursor: 3 }, result(0, 3), false)).toBeUndefined();
    expect(c.continues({ line: 'zzz', cursor: 3 })).toBe(false);
  });

  it('a replacement range past the end of the line is clamped', () => {
    const c = new TabCycle();
    expect(c.begin({ line: 'ab', cursor: 2 }, result(1, 10, 'bc'), false)).toEqual({
      line: 'abc',
      cursor: 3,
    });
  });
});
