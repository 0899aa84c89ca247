import { PSDictionary, PSObject, type PSValue } from '../../clixml/value.ts';
import { asString, psEnum } from './enum.ts';

/*
 * HostInfo (MS-PSRP 2.2.3.14), the host a client describes in INIT_RUNSPACEPOOL and CREATE_PIPELINE: its encoder
 * and decoder, and the encoders of the RawUI shapes it carries (ConsoleColor, Size, Coordinates), which host-call
 * returns use too.
 */

/** The RawUI values a client reports at open (protocols.md 1.4 hostDefaultData keys 0..9). */
export interface HostDefaultData {
  readonly foregroundColor: number;
  readonly backgroundColor: number;
  readonly cursorPosition: { readonly x: number; readonly y: number };
  readonly windowPosition: { readonly x: number; readonly y: number };
  readonly cursorSize: number;
  readonly bufferSize: { readonly width: number; readonly height: number };
  readonly windowSize: { readonly width: number; readonly height: number };
  readonly maxWindowSize: { readonly width: number; readonly height: number };
  readonly maxPhysicalWindowSize: { readonly width: number; readonly height: number };
  readonly windowTitle: string;
}

const CONSOLE_COLORS = [
  'Black',
  'DarkBlue',
  'DarkGreen',
  'DarkCyan',
  'DarkRed',
  'DarkMagenta',
  'DarkYellow',
  'Gray',
  'DarkGray',
  'Blue',
  'Green',
  'Cyan',
  'Red',
  'Magenta',
  'Yellow',
  'White',
];

export function consoleColor(v: number): PSObject {
  return psEnum('System.ConsoleColor', CONSOLE_COLORS[v] ?? String(v), v);
}

export function sizeObject(s: { width: number; height: number }): PSObject {
  return new PSObject({
    extended: [
      ['width', s.width],
      ['height', s.height],
    ],
  });
}

export function coordinatesObject(c: { x: number; y: number }): PSObject {
  return new PSObject({
    extended: [
      ['x', c.x],
      ['y', c.y],
    ],
  });
}

const typed = (t: string, v: PSValue) =>
  new PSObject({
    extended: [
      ['T', t],
      ['V', v],
    ],
  });

/** HostInfo (MS-PSRP 2.2.3.14; RemoteSessionCapability.cs): the field names keep PowerShell's underscores. */
export function hostInfo(
  host: HostDefaultData | null | undefined,
  useRunspaceHost: boolean,
  hasUi = true,
): PSObject {
  const props: Array<[string, PSValue]> = [];
  if (host) {
    const SIZE = 'System.Management.Automation.Host.Size';
    const COORD = 'System.Management.Automation.Host.Coordinates';
    const data = new PSDictionary([
      [9, typed('System.String', host.windowTitle)],
      [8, typed(SIZE, sizeObject(host.maxPhysicalWindowSize))],
      [7, typed(SIZE, sizeObject(host.maxWindowSize))],
      [6, typed(SIZE, sizeObject(host.windowSize))],
      [5, typed(SIZE, sizeObject(host.bufferSize))],
      [4, typed('System.Int32', host.cursorSize)],
      [3, typed(COORD, coordinatesObject(host.windowPosition))],
      [2, typed(COORD, coordinatesObject(host.cursorPosition))],
      [1, typed('System.ConsoleColor', host.backgroundColor)],
      [0, typed('System.ConsoleColor', host.foregroundColor)],
    ]);
    const dataObj = new PSObject({
      typeNames: ['System.Collections.Hashtable', 'System.Object'],
      baseValue: data,
    });
    props.push(['_hostDefaultData', new PSObject({ extended: [['data', dataObj]] })]);
  }
  // A host without RawUI still has a UI: the server then builds its UI proxy, so Write/Prompt host calls work
  // (ServerRemoteHost.cs); only a null UI leaves the remote Out-Default and Read-Host nowhere to go.
  props.push(
    ['_isHostNull', !hasUi],
    ['_isHostUINull', !hasUi],
    ['_isHostRawUINull', !host],
    ['_useRunspaceHost', useRunspaceHost],
  );
  return new PSObject({ extended: props });
}

export interface DecodedHostInfo {
  readonly isHostNull: boolean;
  readonly isHostUINull: boolean;
  readonly isHostRawUINull: boolean;
  readonly useRunspaceHost: boolean;
  /** hostDefaultData key (0..9) -> [type name, value]. */
  readonly defaultData: Map<number, [string, PSValue]>;
}

/** HostInfo back into its flags and hostDefaultData (what a server reads). */
export function decodeHostInfo(v: PSValue | undefined): DecodedHostInfo {
  const o = v instanceof PSObject ? v : new PSObject();
  const defaultData = new Map<number, [string, PSValue]>();
  const hdd = o.get('_hostDefaultData');
  const data = hdd instanceof PSObject ? hdd.get('data') : undefined;
  if (data instanceof PSObject && data.baseValue instanceof PSDictionary) {
    for (const [k, entry] of data.baseValue.entries) {
      if (typeof k === 'number' && entry instanceof PSObject)
        defaultData.set(k, [asString(entry.get('T')) ?? '', entry.get('V') ?? null]);
    }
  }
  return {
    isHostNull: o.get('_isHostNull') === true,
    isHostUINull: o.get('_isHostUINull') === true,
    isHostRawUINull: o.get('_isHostRawUINull') === true,
    useRunspaceHost: o.get('_useRunspaceHost') === true,
    defaultData,
  };
}
