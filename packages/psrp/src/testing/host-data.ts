import type { HostDefaultData } from '../message/codecs/host-info.ts';

/**
 * The RawUI values of a 120x40 console (buffer 120x3000), for tests that open a pool with a host; override what a
 * test checks (`sampleHostData({ windowTitle: 'title <&>' })`).
 */
export function sampleHostData(overrides: Partial<HostDefaultData> = {}): HostDefaultData {
  return {
    foregroundColor: 7,
    backgroundColor: 0,
    cursorPosition: { x: 0, y: 0 },
    windowPosition: { x: 0, y: 0 },
    cursorSize: 25,
    bufferSize: { width: 120, height: 3000 },
    windowSize: { width: 120, height: 40 },
    maxWindowSize: { width: 120, height: 40 },
    maxPhysicalWindowSize: { width: 200, height: 80 },
    windowTitle: 'psremote',
    ...overrides,
  };
}
