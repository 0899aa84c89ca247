// Without imports: bin.js sends these values to the agent before the CLI is loaded (fast-path.ts).

/**
 * The console host's colours before a command changes them: pwsh on Linux and macOS reads them from .NET's Console,
 * which answers (ConsoleColor)-1, "the terminal's own", until a colour is set; `$host.UI.RawUI.ForegroundColor`
 * in its remote sessions is -1 (checked against pwsh 7.6 over SSH). -1 also means that a write with the host's
 * colours draws no colour code.
 */
export const DEFAULT_FG = -1;
export const DEFAULT_BG = -1;
/** .NET's Console.CursorSize outside Windows: always 100 (the console host hands it on). */
export const DEFAULT_CURSOR_SIZE = 100;

/**
 * What TerminalHostUi's RawUI reads in a terminal of this size before anything changed it (the agent's form of
 * it, a RawUiSnapshot): a test keeps the two equal.
 */
export function startRawUi(columns: number | undefined, rows: number | undefined) {
  const width = columns || 120;
  const window = { width, height: rows || 50 };
  return {
    foregroundColor: DEFAULT_FG,
    backgroundColor: DEFAULT_BG,
    cursorPosition: { x: 0, y: 0 },
    windowPosition: { x: 0, y: 0 },
    cursorSize: DEFAULT_CURSOR_SIZE,
    bufferSize: { width, height: 9001 },
    windowSize: window,
    maxWindowSize: { ...window },
    maxPhysicalWindowSize: { ...window },
    windowTitle: '',
  };
}
