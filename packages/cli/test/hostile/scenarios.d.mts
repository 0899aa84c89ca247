export type Mode = 'json' | 'text' | 'enter';

export interface Scenario {
  readonly name: string;
  readonly about: string;
  readonly modes: Mode[];
  readonly exit: number[];
  readonly errorId?: RegExp;
  readonly stdout?: RegExp;
  readonly sigintAtMs?: number[];
  readonly slowReaderMs?: number;
  readonly withinMs?: number;
  readonly needs?: string;
}

export declare const SCENARIOS: Scenario[];
