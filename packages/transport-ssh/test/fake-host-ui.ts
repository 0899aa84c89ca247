import {
  DEFAULT_SESSION_OPTIONS,
  type QueuedAnswer,
  RecordingHostUi,
  silentLogger,
  type TransportContext,
} from '@psremote/core';

/**
 * A HostUi for the tests: answers come from a queue, everything asked and written is recorded
 * (RecordingHostUi from core), plus helpers to read back what the transport asked and warned.
 */
export class FakeHostUi extends RecordingHostUi {
  constructor(answers: QueuedAnswer[] = [], interactive = answers.length > 0) {
    super({ answers, interactive });
  }
  /** The members asked, in order (`ReadLineAsSecureString`, `PromptForChoice`...). */
  get asked(): string[] {
    return this.records.flatMap((r) => (r.kind === 'ask' ? [r.member] : []));
  }
  get warnings(): string[] {
    return this.records.flatMap((r) => (r.kind === 'warning' ? [r.text] : []));
  }
  /** Prompt texts written before a read (`pstest@127.0.0.1's password: `). */
  get written(): string {
    return this.text;
  }
  /** The caption and message of each choice question. */
  get questions(): string[] {
    return this.records.flatMap((r) =>
      r.kind === 'ask' && r.member === 'PromptForChoice' ? [`${r.caption}\n${r.message}`] : [],
    );
  }
}

export function testContext(
  hostUi: FakeHostUi,
  env: Record<string, string | undefined>,
  signal?: TransportContext['signal'],
): TransportContext {
  return {
    hostUi,
    env,
    signal: signal ?? new AbortController().signal,
    log: silentLogger,
    options: DEFAULT_SESSION_OPTIONS,
  };
}
