import { describe, expect, it } from 'vitest';
import { isPSRemotingError } from '../../src/errors/ps-remoting-error.ts';
import {
  DEFAULT_SESSION_OPTIONS,
  parseSessionOptionText,
  parseTimeSpan,
  resolveSessionOptions,
  type SessionOptionValue,
} from '../../src/parameters/session-option.ts';

// Every expectation below was checked with pwsh 7.6:
// ([System.Management.Automation.Remoting.PSSessionOption]@{...}).OpenTimeout.Ticks, and
// Enter-PSSession -ComputerName x -SessionOption @{...} for the binding errors.

const str = (value: string): SessionOptionValue => ({ kind: 'string', value });

function bindingError(f: () => unknown): { errorId: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isPSRemotingError(e)) return { errorId: e.errorId, message: e.message };
    throw e;
  }
  throw new Error('no error');
}

describe('resolveSessionOptions: defaults', () => {
  it('are PSSessionOption timeouts with the OutOfProc client limits', () => {
    const d = resolveSessionOptions(undefined);
    expect(d).toBe(DEFAULT_SESSION_OPTIONS);
    expect(d.openTimeoutMs).toBe(180_000);
    expect(d.cancelTimeoutMs).toBe(60_000);
    expect(d.operationTimeoutMs).toBe(180_000);
    expect(d.idleTimeoutMs).toBe(-1);
    expect(d.maximumReceivedObjectSize).toBe(10 * 1024 * 1024);
    expect(d.maximumReceivedDataSizePerCommand).toBeNull();
    // A hashtable that sets nothing of ours keeps them; other properties pass through.
    const o = resolveSessionOptions({ SkipCACheck: 'True' });
    expect(o.openTimeoutMs).toBe(180_000);
    expect(o.passThrough).toEqual({ SkipCACheck: 'True' });
  });
});

describe('resolveSessionOptions: TimeSpan properties as LanguagePrimitives converts them', () => {
  it('an integer is ticks: @{OpenTimeout=5000} is 0.5 ms (0 ms once truncated)', () => {
    expect(resolveSessionOptions({ OpenTimeout: 5000 }).openTimeoutMs).toBe(0);
    expect(resolveSessionOptions({ OpenTimeout: '50000000' }).openTimeoutMs).toBe(5000);
    // 10000000000 (an Int64 in pwsh) is 00:16:40.
    expect(resolveSessionOptions({ opentimeout: 10_000_000_000n }).openTimeoutMs).toBe(1_000_000);
  });

  it("a string is TimeSpan.Parse: '00:00:05' is 5 s, '5' is 5 days, 'd:h:m:s' and 'd.h:m' forms", () => {
    expect(resolveSessionOptions({ OpenTimeout: str('00:00:05') }).openTimeoutMs).toBe(5000);
    expect(resolveSessionOptions({ CancelTimeout: '00:00:02' }).cancelTimeoutMs).toBe(2000);
    expect(parseTimeSpan('5')).toBe(4_320_000_000_000n);
    expect(parseTimeSpan('5000')).toBe(4_320_000_000_000_000n);
    expect(parseTimeSpan('1:2')).toBe(37_200_000_000n);
    expect(parseTimeSpan('1.2:3')).toBe(937_800_000_000n);
    expect(parseTimeSpan('1:2:3:4')).toBe(937_840_000_000n);
    expect(parseTimeSpan('1.02:03:04.5')).toBe(937_845_000_000n);
    expect(parseTimeSpan(' 00:00:05 ')).toBe(50_000_000n);
    expect(parseTimeSpan('0:0:5.25')).toBe(52_500_000n);
    expect(parseTimeSpan('-00:00:05')).toBe(-50_000_000n);
    expect(parseTimeSpan('10675199')).toBe(9_223_371_936_000_000_000n);
  });

  it('a double goes through its text: 5.0 is 5 days, 5.5 is not a TimeSpan', () => {
    expect(
      resolveSessionOptions({ OpenTimeout: { kind: 'double', value: 5, text: '5.0' } }).openTimeoutMs,
    ).toBe(5 * 24 * 3600 * 1000);
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: 5.5 })).message).toContain(
      `Cannot convert value "5.5" to type "System.TimeSpan". Error: "String '5.5' was not recognized as a valid TimeSpan."`,
    );
  });

  it('negative or beyond Int32 milliseconds become Int32.MaxValue (TimeSpanToTimeOutMs); 0 stays 0', () => {
    expect(resolveSessionOptions({ OpenTimeout: -1 }).openTimeoutMs).toBe(2_147_483_647);
    expect(resolveSessionOptions({ OpenTimeout: str('-00:00:05') }).openTimeoutMs).toBe(2_147_483_647);
    expect(resolveSessionOptions({ OpenTimeout: str('5000') }).openTimeoutMs).toBe(2_147_483_647);
    expect(resolveSessionOptions({ OperationTimeout: 0 }).operationTimeoutMs).toBe(0);
    expect(resolveSessionOptions({ CancelTimeout: 0 }).cancelTimeoutMs).toBe(0);
    // IdleTimeout keeps -1 ms (server default): -1 tick is -0.0001 ms, truncated to 0.
    expect(resolveSessionOptions({ IdleTimeout: str('-00:00:00.001') }).idleTimeoutMs).toBe(-1);
    expect(resolveSessionOptions({ IdleTimeout: -10_001 }).idleTimeoutMs).toBe(2_147_483_647);
  });

  it("gives PowerShell's binding errors (CannotConvertArgumentNoMessage) for values it cannot convert", () => {
    const head =
      'Cannot bind parameter \'SessionOption\'. Cannot create object of type "System.Management.Automation.Remoting.PSSessionOption". ';
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: str('abc') }))).toEqual({
      errorId: 'CannotConvertArgumentNoMessage',
      message: `${head}Cannot convert value "abc" to type "System.TimeSpan". Error: "String 'abc' was not recognized as a valid TimeSpan."`,
    });
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: null })).message).toBe(
      `${head}Cannot convert null to type "System.TimeSpan".`,
    );
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: '' })).message).toBe(
      `${head}Cannot convert null to type "System.TimeSpan".`,
    );
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: true })).message).toBe(
      `${head}Cannot convert value "True" to type "System.TimeSpan". Error: "Invalid cast from 'System.Boolean' to 'System.TimeSpan'."`,
    );
    for (const bad of [
      '10:60',
      '24:00',
      '00:00:60',
      '1.24:00:00',
      '0:0:5.12345678',
      '10675200',
      '99999999',
    ]) {
      expect(bindingError(() => resolveSessionOptions({ OpenTimeout: str(bad) })).message).toBe(
        `${head}Cannot convert value "${bad}" to type "System.TimeSpan". Error: "The TimeSpan string '${bad}' could not be parsed because at least one of the numeric components is out of range or contains too many digits."`,
      );
    }
    expect(bindingError(() => resolveSessionOptions({ OpenTimeout: str('+00:00:05') })).message).toContain(
      "String '+00:00:05' was not recognized as a valid TimeSpan.",
    );
  });
});

describe('resolveSessionOptions: the receive limits (Nullable<Int32>)', () => {
  it('$null is unlimited, integers are kept as given (0 and negatives too)', () => {
    expect(resolveSessionOptions({ MaximumReceivedObjectSize: null }).maximumReceivedObjectSize).toBeNull();
    // The binder flattens $null to an empty text.
    expect(resolveSessionOptions({ MaximumReceivedObjectSize: '' }).maximumReceivedObjectSize).toBeNull();
    expect(resolveSessionOptions({ MaximumReceivedObjectSize: 0 }).maximumReceivedObjectSize).toBe(0);
    expect(resolveSessionOptions({ MaximumReceivedObjectSize: -1 }).maximumReceivedObjectSize).toBe(-1);
    expect(resolveSessionOptions({ MaximumReceivedObjectSize: '1048576' }).maximumReceivedObjectSize).toBe(
      1048576,
    );
    expect(
      resolveSessionOptions({ MaximumReceivedDataSizePerCommand: -5 }).maximumReceivedDataSizePerCommand,
    ).toBe(-5);
  });

  it('strings parse as numbers, doubles round to even, booleans are 1 and 0', () => {
    const mros = (v: SessionOptionValue) =>
      resolveSessionOptions({ MaximumReceivedObjectSize: v }).maximumReceivedObjectSize;
    expect(mros(str('1000'))).toBe(1000);
    expect(mros(str('1kb'))).toBe(1024);
    expect(mros(str('0x10'))).toBe(16);
    expect(mros(str(''))).toBe(0);
    expect(mros(1.5)).toBe(2);
    expect(mros(2.5)).toBe(2);
    expect(mros(true)).toBe(1);
    expect(mros({ kind: 'int', value: 1048576, text: '1mb' })).toBe(1048576);
  });

  it("gives PowerShell's errors for values outside Int32 or not numbers", () => {
    const head =
      'Cannot bind parameter \'SessionOption\'. Cannot create object of type "System.Management.Automation.Remoting.PSSessionOption". ';
    expect(bindingError(() => resolveSessionOptions({ MaximumReceivedObjectSize: 3_000_000_000 }))).toEqual({
      errorId: 'CannotConvertArgumentNoMessage',
      message: `${head}Cannot convert value "3000000000" to type "System.Int32". Error: "Value was either too large or too small for an Int32."`,
    });
    expect(bindingError(() => resolveSessionOptions({ MaximumReceivedObjectSize: str('abc') })).message).toBe(
      `${head}Cannot convert value "abc" to type "System.Int32". Error: "The input string 'abc' was not in a correct format."`,
    );
  });
});

describe('--session-option: Culture and UICulture (CultureInfo) as where -SessionOption binds', () => {
  const head =
    'Cannot bind parameter \'SessionOption\'. Cannot create object of type "System.Management.Automation.Remoting.PSSessionOption". ';
  it('keeps the names CultureInfo takes, the empty (invariant) name, LCIDs and $null', () => {
    for (const name of ['de-DE', 'xx-bogus', 'en_US', 'en-US-x-priv', '', 'haw-US', 'sr-Latn-RS']) {
      expect(parseSessionOptionText(`@{Culture='${name}'; UICulture='${name}'}`)).toMatchObject({
        Culture: str(name),
        UICulture: str(name),
      });
    }
    expect(() => parseSessionOptionText('@{Culture=1033; UICulture=$null}')).not.toThrow();
  });
  it('refuses what pwsh 7.6 refuses, with its text', () => {
    for (const bad of ['a', ' en-US', 'en US', '-en', 'en-', 'é', '!!bad']) {
      expect(bindingError(() => parseSessionOptionText(`@{Culture='${bad}'}`))).toEqual({
        errorId: 'CannotConvertArgumentNoMessage',
        message: `${head}Cannot convert value "${bad}" to type "System.Globalization.CultureInfo". Error: "Culture is not supported. (Parameter 'name')\n${bad} is an invalid culture identifier."`,
      });
    }
    expect(bindingError(() => parseSessionOptionText('@{UICulture=2.5}')).message).toContain(
      '2.5 is an invalid culture identifier.',
    );
    expect(bindingError(() => parseSessionOptionText('@{Culture=$true}')).message).toBe(
      `${head}Cannot convert value "True" to type "System.Globalization.CultureInfo". Error: "Invalid cast from 'System.Boolean' to 'System.Globalization.CultureInfo'."`,
    );
    expect(bindingError(() => parseSessionOptionText(`@{Culture='${'a'.repeat(90)}'}`)).message).toBe(
      `${head}Cannot convert value "${'a'.repeat(90)}" to type "System.Globalization.CultureInfo".`,
    );
  });
  it('the other property types are checked too (a user name is not a ProxyCredential)', () => {
    expect(bindingError(() => parseSessionOptionText("@{ProxyCredential='bob'}")).message).toBe(
      `${head}Cannot convert the "bob" value of type "System.String" to type "System.Management.Automation.PSCredential".`,
    );
  });
});
