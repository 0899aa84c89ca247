export declare const BIN: string;
export declare const FAKE_PWSH: string;

export interface StreamCapture {
  /** The first 16 KiB. */
  readonly head: string;
  /** The last 16 KiB. */
  readonly tail: string;
  readonly bytes: number;
}

export interface ScenarioRun {
  readonly scenario: string;
  readonly mode: 'json' | 'text' | 'enter';
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  readonly peakRssMb: number;
  readonly timedOut: boolean;
  readonly stdout: StreamCapture;
  readonly stderr: StreamCapture;
}

export declare function runScenario(options: {
  scenario: string;
  mode: 'json' | 'text' | 'enter';
  capMs?: number;
  sigintAtMs?: number[];
  /** What the Ctrl+C times count from: the server's start (default) or the first output. */
  sigintFrom?: 'server' | 'output';
  slowReaderMs?: number;
  /** Closes the CLI's stdout after its first output (`| head -1`). */
  closeStdout?: boolean;
  input?: string;
}): Promise<ScenarioRun>;
