// The hostile-server scenarios (issue 10): what fake-pwsh.mjs sends, in which CLI modes each one runs, and what
// psremote must do. Exit statuses are the CLI's documented ones (io.ts EXIT): 0 ok, 1 the command wrote an
// error or the session could not open, 3 the session broke (the server broke the protocol).
//
// `needs` names the parallel branch whose fix the scenario waits for ('psrp-bounds': deserializer and
// defragmenter limits, PSObject.toString on cycles; 'session-limits': Ctrl+C escalation, OpenTimeout). Those
// scenarios fail on a branch without the fix; they are asserted anyway (HOSTILE_ONLY_READY=1 leaves them out
// while the branches are apart).

/** @typedef {'json' | 'text' | 'enter'} Mode */

/**
 * @typedef {{
 *   name: string,
 *   scenario?: string,
 *   about: string,
 *   modes: Mode[],
 *   exit: number[],
 *   errorId?: RegExp,
 *   stdout?: RegExp,
 *   sigintAtMs?: number[],
 *   sigintFrom?: 'server' | 'output',
 *   slowReaderMs?: number,
 *   closeStdout?: boolean,
 *   withinMs?: number,
 *   needs?: string,
 *   quiet?: boolean,
 * }} Scenario
 */

const ALL = ['json', 'text', 'enter'];

/** @type {Scenario[]} */
export const SCENARIOS = [
  { name: 'normal', about: 'a well-behaved server (control)', modes: ALL, exit: [0], stdout: /hello/ },
  // reference expansion and cycles: the consumers (ps-json, text rendering) bound them
  {
    name: 'ref-bomb',
    about: '2 KB object, 26 levels of two Refs each: 2^26 objects expanded',
    modes: ALL,
    exit: [0],
    stdout: /\$ref|PSCustomObject/,
  },
  { name: 'ref-dag-20', about: 'the same, 20 levels (2^20)', modes: ['json'], exit: [0], stdout: /\$ref/ },
  {
    name: 'ref-cycle-base',
    about: '<Obj RefId="0"><Ref RefId="0"/></Obj>: its own base value',
    modes: ALL,
    exit: [0],
  },
  { name: 'ref-cycle-props', about: 'a property that refers to its own object', modes: ALL, exit: [0] },
  { name: 'ref-cycle-list', about: 'a list and a hashtable that contain themselves', modes: ALL, exit: [0] },
  {
    name: 'shared-string-amp',
    about: 'one object with a 4 MB ToString referenced 2000 times (8 GB expanded)',
    modes: ['json', 'text'],
    withinMs: 40_000,
    exit: [0],
  },
  {
    name: 'deep-200',
    about: '200 nested objects (JSON depth bound; the deserializer may refuse beyond 50)',
    modes: ['json', 'text'],
    exit: [0, 3],
  },
  {
    name: 'deep-100k',
    about: '100,000 nested objects',
    modes: ['json'],
    exit: [3],
    errorId: /DeserializationTooDeep/,
  },
  // parser classes
  {
    name: 'decimal-100k',
    about: '<D>/<Db> with 100k digits (backtracking regexes)',
    modes: ['json'],
    exit: [0, 3],
    withinMs: 10_000,
    needs: 'psrp-bounds',
  },
  {
    name: 'cdata-10k',
    about: '10,000 CDATA sections in one string',
    modes: ['json'],
    exit: [0, 3],
    needs: 'psrp-bounds',
  },
  {
    name: 'amp-60mb',
    about: '60 MB of &amp; in one string',
    modes: ['json'],
    exit: [3],
    errorId: /Maximum|Size|Exceed/i,
    needs: 'psrp-bounds',
  },
  {
    name: 'object-200mb',
    about: 'one 200 MB object',
    modes: ['json'],
    exit: [3],
    errorId: /Maximum|Size|Exceed/i,
    needs: 'psrp-bounds',
  },
  {
    name: 'attrs-million',
    about: 'an OutOfProc line with a million attributes',
    modes: ['json'],
    exit: [3],
    errorId: /PsrpMalformedPacket/,
    needs: 'psrp-bounds',
  },
  {
    name: 'trickle-250mb',
    about: 'a fragment declaring 250 MB that trickles in; Ctrl+C twice',
    modes: ['json'],
    exit: [1, 3],
    sigintAtMs: [3000, 4500],
    withinMs: 12_000,
    needs: 'session-limits',
  },
  // transport misbehaviour
  {
    name: 'garbage-lines',
    about: 'lines that are no packets after the handshake',
    modes: ['json', 'enter'],
    exit: [3],
    errorId: /PsrpMalformedPacket|FullyQualifiedErrorId/,
  },
  {
    name: 'endless-line',
    about: 'a line that never ends (no newline, ever)',
    modes: ['json'],
    withinMs: 40_000,
    exit: [3],
    errorId: /FullyQualifiedErrorId/,
  },
  {
    name: 'ignore-stop',
    about: 'streams output and ignores the stop signal; Ctrl+C twice',
    modes: ['json', 'enter'],
    exit: [1, 3],
    sigintAtMs: [2000, 3500],
    withinMs: 12_000,
    needs: 'session-limits',
  },
  {
    name: 'output-flood',
    about: '100,000 outputs while nobody reads stdout for 5 s',
    modes: ['json', 'text'],
    exit: [0],
    slowReaderMs: 5000,
    withinMs: 60_000,
  },
  {
    name: 'output-flood-ctrl-c',
    about: 'the same flood, Ctrl+C 0.5 s into the output: the command stops',
    modes: ['json', 'text'],
    exit: [1],
    sigintAtMs: [500],
    sigintFrom: 'output',
    withinMs: 20_000,
    // The console host prints nothing for a command the user stopped; exit 1 (it did not complete).
    quiet: true,
  },
  {
    name: 'output-to-closed-pipe',
    about: 'the same flood into a pipe closed after the first output (| head -1)',
    scenario: 'output-flood',
    modes: ['json', 'text'],
    exit: [141],
    closeStdout: true,
    withinMs: 20_000,
    // EPIPE ends psremote quietly, as `seq | head -1` (141 = 128 + SIGPIPE), after stopping the command.
    quiet: true,
  },
  // what the host and the renderers get
  {
    name: 'host-call-storm',
    about: '50,000 WriteLine host calls',
    modes: ['text', 'enter'],
    withinMs: 60_000,
    exit: [0],
  },
  {
    name: 'host-cyclic-prop',
    about: 'a WriteLine host call whose argument is its own property',
    modes: ['text', 'enter'],
    exit: [0],
    stdout: /after the host calls/,
  },
  {
    name: 'host-cyclic-base',
    about: 'a WriteLine host call whose argument is its own base value (the engine decodes it first)',
    modes: ['text', 'enter'],
    exit: [0],
    stdout: /after the host calls/,
    needs: 'psrp-bounds',
  },
  { name: 'host-huge-arg', about: 'one WriteLine of 8 MB', modes: ['text'], exit: [0] },
  {
    name: 'progress-storm',
    about: '100,000 progress records, each its own activity',
    modes: ['json', 'enter'],
    withinMs: 60_000,
    exit: [0],
    stdout: /done/,
  },
  {
    name: 'error-cycle',
    about: 'an ErrorRecord whose InnerException and TargetObject cycle',
    modes: ALL,
    exit: [1],
    // The server's record in pwsh's concise view (no FullyQualifiedErrorId line, as Invoke-Command shows it).
    errorId: /^RuntimeException: cyclic exception chain$/m,
  },
  {
    name: 'error-message-cycle',
    about: "an ErrorRecord whose exception's Message is its own base value",
    modes: ['json', 'enter'],
    exit: [1],
    // Concise view: nothing names a reason, so `Error:`; the message is the cyclic object's finite text.
    errorId: /^Error: System\.Management\.Automation\.PSCustomObject$/m,
    needs: 'psrp-bounds',
  },
  {
    name: 'dict-200k',
    about: 'a 200,000-entry hashtable (within limits)',
    modes: ['json', 'text'],
    withinMs: 40_000,
    exit: [0],
  },
  { name: 'wide-list-1m', about: 'a list of a million $nulls', modes: ['json'], withinMs: 40_000, exit: [0] },
  {
    name: 'state-storm',
    about: '5,000 pipeline-state messages for pipelines that do not exist',
    modes: ['json'],
    exit: [0, 3],
  },
  {
    name: 'no-handshake',
    about: 'a server that never answers; Ctrl+C after 2 s',
    modes: ['json', 'enter'],
    exit: [1],
    sigintAtMs: [2000],
    withinMs: 15_000,
    errorId: /OperationStopped|FullyQualifiedErrorId/,
  },
];
