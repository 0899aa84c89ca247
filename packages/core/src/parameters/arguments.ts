import { PSRemotingError } from '../errors/ps-remoting-error.ts';

/**
 * A value as PowerShell's parser types an argument in command mode: `5` is an Int32, `5.0` a Double, `0x10`
 * and `1kb` numbers, `$true`/`$false`/`$null`, quoted or bare strings, `a,b` arrays, `@{...}` hashtables,
 * `@(...)` arrays, `{...}` script blocks.
 */
export type ArgumentValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'int'; readonly value: number; readonly text: string }
  | { readonly kind: 'long'; readonly value: bigint; readonly text: string }
  | {
      readonly kind: 'double';
      readonly value: number;
      readonly text: string;
      /** A `d`-suffixed literal: a System.Decimal. */
      readonly decimal?: boolean;
    }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' }
  | { readonly kind: 'array'; readonly items: readonly ArgumentValue[] }
  | { readonly kind: 'hashtable'; readonly entries: ReadonlyArray<readonly [string, ArgumentValue]> }
  | { readonly kind: 'scriptblock'; readonly text: string };

export type RawArgument =
  | {
      readonly kind: 'parameter';
      readonly name: string;
      readonly value?: ArgumentValue;
      readonly text: string;
    }
  | { readonly kind: 'value'; readonly value: ArgumentValue; readonly text: string };

function parseError(text: string, why: string): PSRemotingError {
  const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return new PSRemotingError(`The argument '${shown}' cannot be parsed: ${why}.`, {
    errorId: 'ParserError',
    category: 'ParserError',
    targetObject: text,
  });
}

const MULT: Record<string, bigint> = {
  kb: 1024n,
  mb: 1024n ** 2n,
  gb: 1024n ** 3n,
  tb: 1024n ** 4n,
  pb: 1024n ** 5n,
};

/** A PowerShell number literal, or undefined when the text is not one. */
export function parseNumber(text: string): ArgumentValue | undefined {
  // about_Numeric_Literals: decimal, 0x hex, 0b binary; type suffixes y uy s us u ul l n d; multipliers kb..pb.
  const m =
    /^([+-]?)(0x[0-9a-f]+|0b[01]+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)(uy|us|ul|u|y|s|l|n|d)?(kb|mb|gb|tb|pb)?$/i.exec(
      text,
    );
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const body = (m[2] as string).toLowerCase();
  const suffix = (m[3] ?? '').toLowerCase();
  const mult = MULT[(m[4] ?? '').toLowerCase()] ?? 1n;
  if (body.startsWith('0x') || body.startsWith('0b')) {
    let v = BigInt(body);
    // PowerShell: a hex or binary literal that fits 32 bits is an Int32 (0xFFFFFFFF is -1).
    if (suffix === '' && v <= 0xffffffffn && mult === 1n) v = v > 0x7fffffffn ? v - 0x100000000n : v;
    return integer(sign * v * mult, text, suffix === 'l');
  }
  if (/[.e]/.test(body) || suffix === 'd') {
    const v = Number(body) * Number(mult) * Number(sign);
    if (mult !== 1n && Number.isInteger(v) && /^[^.e]*$/.test(body)) return integer(BigInt(v), text, false);
    return suffix === 'd'
      ? { kind: 'double', value: v, text, decimal: true }
      : { kind: 'double', value: v, text };
  }
  return integer(sign * BigInt(body) * mult, text, suffix === 'l');
}

function integer(v: bigint, text: string, forceLong: boolean): ArgumentValue {
  if (!forceLong && v >= -2147483648n && v <= 2147483647n) return { kind: 'int', value: Number(v), text };
  return { kind: 'long', value: v, text };
}

/** Splits at top-level occurrences of `sep`, outside quotes and brackets. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) {
        if (text[i + 1] === quote) i++;
        else quote = '';
      } else if (c === '`' && quote === '"') i++;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '`') i++;
    else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

// about_Special_Characters: the escapes of double-quoted strings and bare words.
const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function unescapeChar(ch: string): string {
  if (ch.length > 1) {
    const code = Number.parseInt(ch.slice(2, -1), 16);
    // The tokenizer refuses a `u{} beyond the last Unicode code point.
    if (code > 0x10ffff) throw parseError(`\`${ch}`, 'the Unicode escape sequence value is out of range');
    return String.fromCodePoint(code);
  }
  return ESCAPES[ch] ?? ch;
}

function unquote(text: string): string | undefined {
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'"))
    return text.slice(1, -1).replace(/''/g, "'");
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text
      .slice(1, -1)
      .replace(/""/g, '"')
      .replace(/`(u\{[0-9a-fA-F]{1,6}\}|.)/g, (_, ch: string) => unescapeChar(ch));
  }
  return undefined;
}

/**
 * One argument word as a value. `env` resolves `$env:NAME`; other variables do not exist here.
 */
export function parseValue(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
  inExpression = false,
): ArgumentValue {
  // Nesting is bounded so that hostile input gives a ParserError, never a stack overflow.
  if (nesting >= MAX_NESTING) throw parseError(text, `it nests more than ${MAX_NESTING} levels deep`);
  nesting++;
  try {
    return parseValueText(text, env, inExpression);
  } finally {
    nesting--;
  }
}

const MAX_NESTING = 64;
let nesting = 0;

function parseValueText(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  inExpression: boolean,
): ArgumentValue {
  const t = text.trim();
  if (t === '') return { kind: 'string', value: '' };
  const parts = splitTop(t, ',');
  if (parts.length > 1) {
    if (parts.some((p) => p.trim() === '')) throw parseError(text, 'an array element is missing');
    return { kind: 'array', items: parts.map((p) => parseValue(p, env, inExpression)) };
  }
  const q = unquote(t);
  if (q !== undefined) return { kind: 'string', value: q };
  if (t.startsWith('@{') && t.endsWith('}')) {
    const inner = t.slice(2, -1).trim();
    const entries: Array<[string, ArgumentValue]> = [];
    if (inner !== '') {
      for (const stmt of splitTop(inner.replace(/\r?\n/g, ';'), ';')) {
        if (stmt.trim() === '') continue;
        const eq = splitTop(stmt, '=');
        if (eq.length < 2) throw parseError(text, `'${stmt.trim()}' is not a key=value pair`);
        const keyText = (eq[0] as string).trim();
        const key = unquote(keyText) ?? keyText;
        entries.push([key, parseValue(eq.slice(1).join('='), env, true)]);
      }
    }
    return { kind: 'hashtable', entries };
  }
  if (t.startsWith('@(') && t.endsWith(')')) {
    const inner = t.slice(2, -1).trim();
    if (inner === '') return { kind: 'array', items: [] };
    const v = parseValue(inner, env, true);
    return v.kind === 'array' ? v : { kind: 'array', items: [v] };
  }
  if (t.startsWith('{') && t.endsWith('}')) return { kind: 'scriptblock', text: t.slice(1, -1) };
  if (t.startsWith('(') && t.endsWith(')')) return parseValue(t.slice(1, -1), env, true);
  const lower = t.toLowerCase();
  if (lower === '$true') return { kind: 'bool', value: true };
  if (lower === '$false') return { kind: 'bool', value: false };
  if (lower === '$null') return { kind: 'null' };
  const envVar = /^\$env:([A-Za-z_][A-Za-z0-9_]*)$/i.exec(t);
  if (envVar) {
    const v = env[envVar[1] as string];
    return v === undefined ? { kind: 'null' } : { kind: 'string', value: v };
  }
  // Command mode: `-5`, `+5` and `-.5` are not numbers but words (a signed number needs an expression).
  if (!inExpression && /^[-+]\.?\d/.test(t)) return { kind: 'string', value: t };
  if (t.startsWith('$'))
    throw parseError(
      text,
      `the variable ${t} does not exist outside PowerShell (only $true, $false, $null and $env:NAME)`,
    );
  const n = parseNumber(t);
  if (n) return n;
  // A bare word: a string in command mode (inside an expression PowerShell would run it as a command;
  // psremote takes it as text, since shells often strip the quotes).
  void inExpression;
  return {
    kind: 'string',
    value: t.replace(/`(u\{[0-9a-fA-F]{1,6}\}|.)/g, (_, ch: string) => unescapeChar(ch)),
  };
}

// The tokenizer takes an en dash, em dash or horizontal bar for the hyphen that starts a parameter.
const PARAM = /^[-\u2013\u2014\u2015]([A-Za-z_?][A-Za-z0-9_?-]*)(:(.*))?$/s;

/** psremote's argv words (after `enter`) as PowerShell arguments. */
export function parseArguments(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): RawArgument[] {
  const out: RawArgument[] = [];
  // about_Parsing: a bare `--` ends the parameters; it is dropped, and every word after it is an argument, even
  // one that looks like a parameter name.
  let verbatim = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--' && !verbatim) {
      verbatim = true;
      continue;
    }
    const m = verbatim ? null : PARAM.exec(word);
    if (m) {
      const name = m[1] as string;
      if (m[2] === ':') {
        // `-Name: value`: a parameter ending in a colon takes the next word, whatever it looks like.
        const next = argv[i + 1];
        if (next === undefined) {
          throw new PSRemotingError(`Parameter -${name}: requires an argument.`, {
            errorId: 'ParameterRequiresArgument',
            category: 'ParserError',
            targetObject: word,
          });
        }
        out.push({ kind: 'parameter', name, value: parseValue(next, env), text: `${word} ${next}` });
        i++;
      } else if (m[2] !== undefined)
        out.push({ kind: 'parameter', name, value: parseValue(m[3] ?? '', env), text: word });
      else out.push({ kind: 'parameter', name, text: word });
      continue;
    }
    out.push({ kind: 'value', value: parseValue(word, env), text: word });
  }
  return out;
}

/** The text PowerShell shows for a value in messages ('5', 'True', 'System.Object[]'). */
export function valueText(v: ArgumentValue): string {
  switch (v.kind) {
    case 'string':
      return v.value;
    // A number typed in command mode keeps its token text when it becomes a string (`5.0`, `2GB`, `10l`).
    case 'int':
      return v.text;
    case 'long':
      return v.text;
    case 'double':
      return v.text;
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'null':
      return '';
    case 'array':
      return 'System.Object[]';
    case 'hashtable':
      return 'System.Collections.Hashtable';
    case 'scriptblock':
      return v.text;
  }
}

export function formatDoubleText(d: number): string {
  // .NET's shortest round-trip text: exponent form from 1E+15 up and below 1E-04, the exponent at least 2
  // digits when negative (1E-05).
  const abs = Math.abs(d);
  if (abs !== 0 && Number.isFinite(d) && (abs >= 1e15 || abs < 1e-4)) {
    const [mantissa, exponent] = d.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    const digits = exponent.replace(/^[+-]/, '');
    return `${mantissa}E${sign}${sign === '-' ? digits.padStart(2, '0') : digits}`;
  }
  if (Object.is(d, -0)) return '-0';
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? '∞' : '-∞';
  return String(d);
}

/** .NET type name of a value, for conversion messages. */
export function valueTypeName(v: ArgumentValue): string {
  switch (v.kind) {
    case 'string':
      return 'System.String';
    case 'int':
      return 'System.Int32';
    case 'long':
      return 'System.Int64';
    case 'double':
      return v.decimal ? 'System.Decimal' : 'System.Double';
    case 'bool':
      return 'System.Boolean';
    case 'null':
      return 'null';
    case 'array':
      return 'System.Object[]';
    case 'hashtable':
      return 'System.Collections.Hashtable';
    case 'scriptblock':
      return 'System.Management.Automation.ScriptBlock';
  }
}
