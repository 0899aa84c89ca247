export type Mode = 'json' | 'text' | 'enter';

export interface Scenario {
  readonly name: string;
  /** The fake server's scenario, when it is another one's (a different client-side condition). */
  readonly scenario?: string;
  readonly about: string;
  readonly modes: Mode[];
  readonly exit: number[];
  readonly errorId?: RegExp;
  readonly stdout?: RegExp;
  readonly sigintAtMs?: number[];
  readonly sigintFrom?: 'server' | 'output';
  readonly slowReaderMs?: number;
  readonly closeStdout?: boolean;
  readonly withinMs?: number;
  readonly needs?: string;
  /** A non-zero exit without a message is right (a command the user stopped). */
  readonly quiet?: boolean;
}

export declare const SCENARIOS: Scenario[];
