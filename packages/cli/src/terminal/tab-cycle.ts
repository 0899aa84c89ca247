import type { CompletionResult } from '@psremote/core';

/** A line being edited: its text and the cursor (a UTF-16 index into it). */
export interface EditState {
  readonly line: string;
  readonly cursor: number;
}

/**
 * Tab completion as PowerShell's console host does it (TabCompleteNext): the first Tab asks TabExpansion2 and puts
 * the first match in place of the replacement range; every further Tab, while the line is as the last completion
 * left it, puts the next match there (wrapping round), and Shift+Tab the previous one. Any other edit ends the
 * cycle; the next Tab asks again.
 */
export class TabCycle {
  private cycle:
    | {
        /** The text before the replacement range in the original line. */
        readonly head: string;
        /** The text after the replacement range in the original line. */
        readonly tail: string;
        readonly matches: readonly string[];
        index: number;
        after: EditState;
      }
    | undefined;

  /** True when a Tab at this state moves through the current matches instead of asking the server. */
  continues(state: EditState): boolean {
    const c = this.cycle;
    return c !== undefined && c.after.line === state.line && c.after.cursor === state.cursor;
  }

  /** The next (or previous) match of the running cycle; call only when continues() said so. */
  step(backwards: boolean): EditState {
    const c = this.cycle;
    if (!c) throw new Error('no completion cycle');
    const n = c.matches.length;
    c.index = (c.index + (backwards ? n - 1 : 1)) % n;
    c.after = replaced(c.head, c.matches[c.index] as string, c.tail);
    return c.after;
  }

  /**
   * Starts a cycle from TabExpansion2's answer for `state`. Returns the edited state, or undefined when there is
   * nothing to complete (the line stays as it is). Shift+Tab starts from the last match, as in PowerShell.
   */
  begin(state: EditState, result: CompletionResult, backwards: boolean): EditState | undefined {
    this.cycle = undefined;
    const matches = result.matches.map((m) => m.completionText);
    if (matches.length === 0) return undefined;
    const start = Math.max(0, Math.min(result.replacementIndex, state.line.length));
    const end = Math.max(start, Math.min(start + result.replacementLength, state.line.length));
    const tail = state.line.slice(end);
    const index = backwards ? matches.length - 1 : 0;
    const head = state.line.slice(0, start);
    const after = replaced(head, matches[index] as string, tail);
    this.cycle = { head, tail, matches, index, after };
    return after;
  }

  /** Forgets the cycle (the line was submitted or cleared). */
  reset(): void {
    this.cycle = undefined;
  }
}

function replaced(head: string, match: string, tail: string): EditState {
  return { line: head + match + tail, cursor: head.length + match.length };
}
