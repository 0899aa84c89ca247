/**
 * @psremote/transport-hyperv is not built yet: it registers no transport, so the VMId and VMName
 * parameter sets report that no transport serves them. See this package's README.
 */
export const implemented = false as const;
