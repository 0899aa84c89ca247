import { createRequire } from 'node:module';
import type { IPty } from '@lydell/node-pty';
import type { Terminal as XTerm } from '@xterm/headless';

const require = createRequire(import.meta.url);
const pty = require('@lydell/node-pty') as typeof import('@lydell/node-pty');
const { Terminal } = require('@xterm/headless') as typeof import('@xterm/headless');

/**
 * A program in a real pseudo-terminal, with the screen rendered by a headless xterm: type keys, wait for the
 * screen to show something, read it. Fails with the screen dump on timeout.
 */
export class PtySession {
  readonly pty: IPty;
  readonly term: XTerm;
  readonly exited: Promise<{ exitCode: number; signal?: number }>;
  private raw = '';
  private pending = Promise.resolve();

  constructor(
    file: string,
    args: string[],
    options: { cols?: number; rows?: number; env?: Record<string, string | undefined>; cwd?: string } = {},
  ) {
    const cols = options.cols ?? 120;
    const rows = options.rows ?? 30;
    this.term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 1000 });
    this.pty = pty.spawn(file, args, {
      name: 'xterm-256color',
      cols,
      rows,
      cwd: options.cwd ?? process.cwd(),
      env: Object.fromEntries(
        Object.entries({ ...process.env, TERM: 'xterm-256color', ...options.env }).filter(
          ([, v]) => v !== undefined,
        ),
      ) as Record<string, string>,
    });
    this.pty.onData((d) => {
      this.raw += d;
      this.pending = this.pending.then(() => new Promise<void>((r) => this.term.write(d, r)));
    });
    this.exited = new Promise((resolve) => this.pty.onExit((e) => resolve(e)));
  }

  /** Resizes the terminal (the program gets SIGWINCH) and the rendered screen. */
  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
    this.term.resize(cols, rows);
  }

  /** Everything the program wrote, escape sequences included. */
  get output(): string {
    return this.raw;
  }

  /** The visible screen (and scrollback), lines joined with \n, trailing spaces trimmed. */
  async screen(): Promise<string> {
    await this.pending;
    const b = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  type(text: string): void {
    this.pty.write(text);
  }

  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > deadline)
        throw new Error(`screen never matched ${pattern} within ${timeoutMs} ms:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    try {
      this.pty.kill();
    } catch {
      // already gone
    }
  }
}
