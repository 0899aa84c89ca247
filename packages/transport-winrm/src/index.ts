/**
 * @psremote/transport-winrm is not built yet: it registers no transport, so the ComputerName and Uri
 * parameter sets report that no transport serves them. See this package's README.
 */
export const implemented = false as const;
