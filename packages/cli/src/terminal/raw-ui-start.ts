// Without imports: bin.js sends these values to the agent before the CLI is loaded (fast-path.ts).

/** The console host's colours before a command changes them. */
export const DEFAULT_FG = 7; // Gray
export const DEFAULT_BG = 0; // Black

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
    cursorSize: 25,
    bufferSize: { width, height: 9001 },
    windowSize: window,
    maxWindowSize: { ...window },
    maxPhysicalWindowSize: { ...window },
    windowTitle: '',
  };
}
