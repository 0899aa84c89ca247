import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

/**
 * The recordings (pypsrp's test data, real Windows WinRM servers, MIT: LICENSE.pypsrp beside them), kept in the
 * repository with psrp's test vectors so a clone has them.
 */
export const VECTOR_DIR =
  process.env.PSREMOTE_WINRM_VECTORS ??
  fileURLToPath(new URL('../../psrp/test/vectors/winrm-recorded/', import.meta.url));

/** One recorded HTTP exchange: the request Windows got and its answer (null when the exchange failed). */
export interface RecordedExchange {
  readonly file: string;
  readonly index: number;
  readonly request: string;
  readonly response: string | null;
  /** `transport_error.code` when the recording says the answer came with an HTTP error status. */
  readonly httpStatus: number;
}

export function recordedExchanges(): RecordedExchange[] {
  if (!existsSync(VECTOR_DIR)) return [];
  const out: RecordedExchange[] = [];
  for (const file of readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.yml') && !f.startsWith('_'))
    .sort()) {
    const doc = load(readFileSync(join(VECTOR_DIR, file), 'utf8')) as {
      messages: Array<{ request: string; response?: string | null; transport_error?: { code: number } }>;
    };
    doc.messages.forEach((m, index) => {
      out.push({
        file,
        index,
        request: m.request,
        response: m.response ?? null,
        httpStatus: m.transport_error?.code ?? 200,
      });
    });
  }
  return out;
}
