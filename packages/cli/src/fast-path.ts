/** The verbs that can act on a session the agent holds. */
const HELD_SESSION_VERBS: ReadonlySet<string> = new Set(['enter', 'invoke', 'get', 'remove']);

/**
 * Whether a command line names a session the agent holds (-Id, -Name, -InstanceId, or `get`/`remove`), so that
 * it needs no transport in this process. A guess made before binding, for speed only: a wrong guess runs the
 * same CLI from the other build (main.ts binds and decides).
 */
export function usesHeldSession(argv: readonly string[]): boolean {
  const verb = argv[0];
  if (verb === undefined || !HELD_SESSION_VERBS.has(verb)) return false;
  if (verb === 'get' || verb === 'remove') return true;
  return argv.some((a) => /^-(id|name|instanceid)(:.*)?$/i.test(a));
}
