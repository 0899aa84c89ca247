import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What the oracle driver answers for one command. */
export interface OracleAnswer {
  readonly ok?: boolean;
  readonly success?: boolean;
  readonly token?: string | null;
  readonly type?: string;
  readonly message?: string;
  readonly port?: number;
  readonly ready?: boolean;
  readonly version?: string;
}

/**
 * One pwsh process running test/ps-direct-oracle.ps1: PowerShell's own handshake functions, called by reflection
 * over TCP. Commands are answered in order; started once per test file and stopped by its pid.
 */
export class PsDirectOracle {
  private readonly lines: Interface;
  private readonly queue: OracleAnswer[] = [];
  private readonly waiting: ((a: OracleAnswer) => void)[] = [];
  stderr = '';

  private readonly child: ChildProcessWithoutNullStreams;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (l) => {
      let a: OracleAnswer;
      try {
        a = JSON.parse(l) as OracleAnswer;
      } catch {
        return; // not an answer (a warning pwsh printed)
      }
      const w = this.waiting.shift();
      if (w) w(a);
      else this.queue.push(a);
    });
    child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
  }

  static async start(pwsh: string): Promise<{ oracle: PsDirectOracle; version: string }> {
    const script = fileURLToPath(new URL('./ps-direct-oracle.ps1', import.meta.url));
    const child = spawn(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const oracle = new PsDirectOracle(child);
    const ready = await oracle.next(30_000);
    return { oracle, version: ready.version ?? '' };
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The next answer. */
  next(timeoutMs = 15_000): Promise<OracleAnswer> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`the pwsh oracle did not answer within ${timeoutMs} ms: ${this.stderr}`)),
        timeoutMs,
      );
      this.waiting.push((a) => {
        clearTimeout(t);
        resolve(a);
      });
    });
  }

  /** Sends a command; its answer comes from next(). */
  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  async call(command: Record<string, unknown>): Promise<OracleAnswer> {
    this.send(command);
    return this.next();
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.exitCode !== null) return;
    this.child.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    const t = setTimeout(() => {
      if (this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    }, 3000);
    await exited;
    clearTimeout(t);
    this.lines.close();
  }
}
