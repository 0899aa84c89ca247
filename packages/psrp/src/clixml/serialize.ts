import { encodeClixmlString, escapeXml } from './escape.ts';
import { PSDictionary, PSList, PSObject, PSPrimitive, type PSValue } from './value.ts';

export interface SerializeOptions {
  /** The `N` attribute of the root element (a property name). */
  readonly name?: string;
}

/** .NET's round-trip text of a double (XmlConvert.ToString): `1E+20`, `1E-07`, `INF`, `-INF`, `NaN`. */
export function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'INF';
  if (v === Number.NEGATIVE_INFINITY) return '-INF';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) {
    // .NET switches to exponent form at 1E+15 for "R"; JS at 1e21. Both parse back to the same double.
    return s;
  }
  const mant = s.slice(0, e);
  const exp = s.slice(e + 1);
  const sign = exp.startsWith('-') ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
  return `${mant}E${sign}${digits}`;
}

/**
 * serialization.cs MaxDepthBelowTopLevel: PowerShell's serializer writes this text (an `<S>`) in place of a
 * value that would be nested 50 levels deep, so what it writes its deserializer can read. The same bound here
 * keeps the writer's recursion short for any graph (a deserialized one can chain objects through Refs far
 * longer than its nesting).
 */
const MAX_DEPTH_BELOW_TOP_LEVEL = 50;
const TOO_DEEP = 'Serialized XML is nested too deeply.';

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0);
}

class Writer {
  private readonly parts: string[] = [];
  private nextRef = 0;
  private nextTn = 0;
  private readonly refs = new Map<PSObject, number>();
  private readonly tns = new Map<string, number>();
  /** TN RefIds by array: deserialized objects share their TNRef's array, so most lookups need no join. */
  private readonly tnArrays = new Map<readonly string[], number>();

  toString(): string {
    return this.parts.join('');
  }

  /** One value; `depth` 0 is the root (each nested value one more, as the deserializer counts). */
  value(v: PSValue | PSList | PSDictionary, name: string | undefined, depth = 0): void {
    const n = name === undefined ? '' : ` N="${escapeXml(encodeClixmlString(name))}"`;
    const p = this.parts;
    if (depth + 1 >= MAX_DEPTH_BELOW_TOP_LEVEL) {
      p.push(`<S${n}>${TOO_DEEP}</S>`);
      return;
    }
    if (v === null || v === undefined) {
      p.push(`<Nil${n} />`);
      return;
    }
    switch (typeof v) {
      case 'string':
        p.push(`<S${n}>${escapeXml(encodeClixmlString(v))}</S>`);
        return;
      case 'boolean':
        p.push(`<B${n}>${v ? 'true' : 'false'}</B>`);
        return;
      case 'number':
        if (isInt32(v)) p.push(`<I32${n}>${v}</I32>`);
        else p.push(`<Db${n}>${formatDouble(v)}</Db>`);
        return;
      default:
        break;
    }
    if (v instanceof PSPrimitive) {
      p.push(primitive(v, n));
      return;
    }
    if (v instanceof PSList || v instanceof PSDictionary) {
      // A bare collection: wrap it as PowerShell would (an ArrayList / Hashtable object).
      this.object(
        new PSObject({
          typeNames:
            v instanceof PSList
              ? ['System.Collections.ArrayList', 'System.Object']
              : ['System.Collections.Hashtable', 'System.Object'],
          baseValue: v,
        }),
        n,
        depth,
      );
      return;
    }
    if (v instanceof PSObject) {
      this.object(v, n, depth);
      return;
    }
    throw new TypeError(`cannot serialize ${Object.prototype.toString.call(v)} as CLIXML`);
  }

  /**
   * An object, or a Ref to it when it was written before: each object once, so a cycle ends and a graph that
   * shares objects (2 KB of nested Refs can stand for 2^26 paths) is written in time linear in its objects.
   */
  private object(o: PSObject, n: string, depth: number): void {
    const p = this.parts;
    const seen = this.refs.get(o);
    if (seen !== undefined) {
      p.push(`<Ref${n} RefId="${seen}" />`);
      return;
    }
    const id = this.nextRef++;
    this.refs.set(o, id);
    p.push(`<Obj${n} RefId="${id}">`);
    if (o.typeNames.length > 0) {
      let tn = this.tnArrays.get(o.typeNames);
      let key: string | undefined;
      if (tn === undefined) {
        key = o.typeNames.join('\u0000');
        tn = this.tns.get(key);
        if (tn !== undefined) this.tnArrays.set(o.typeNames, tn);
      }
      if (tn !== undefined) p.push(`<TNRef RefId="${tn}" />`);
      else {
        const tid = this.nextTn++;
        this.tns.set(key as string, tid);
        this.tnArrays.set(o.typeNames, tid);
        p.push(`<TN RefId="${tid}">`);
        for (const t of o.typeNames) p.push(`<T>${escapeXml(encodeClixmlString(t))}</T>`);
        p.push('</TN>');
      }
    }
    if (o.toStringValue !== undefined)
      p.push(`<ToString>${escapeXml(encodeClixmlString(o.toStringValue))}</ToString>`);
    const base = o.baseValue;
    if (base instanceof PSList) {
      p.push(`<${base.kind}>`);
      for (const item of base.items) this.value(item, undefined, depth + 1);
      p.push(`</${base.kind}>`);
    } else if (base instanceof PSDictionary) {
      p.push('<DCT>');
      for (const [k, v] of base.entries) {
        p.push('<En>');
        this.value(k, 'Key', depth + 1);
        this.value(v, 'Value', depth + 1);
        p.push('</En>');
      }
      p.push('</DCT>');
    } else if (base !== undefined) {
      // A primitive base value belongs to its object; an object base value is a level down (the reader's count).
      this.value(base, undefined, base instanceof PSObject ? depth + 1 : depth);
    }
    if (o.hasAdapted) {
      p.push('<Props>');
      for (const [k, v] of o.adapted) this.value(v, k, depth + 1);
      p.push('</Props>');
    }
    if (o.hasExtended) {
      p.push('<MS>');
      for (const [k, v] of o.extended) this.value(v, k, depth + 1);
      p.push('</MS>');
    }
    p.push('</Obj>');
  }
}

function primitive(v: PSPrimitive, n: string): string {
  const tag = v.tag;
  const val = v.value;
  let text: string;
  switch (tag) {
    case 'C':
      text = String((val as string).charCodeAt(0) || 0);
      break;
    case 'Db':
    case 'Sg':
      text = formatDouble(val as number);
      break;
    case 'BA':
      text = Buffer.from(val as Uint8Array).toString('base64');
      break;
    case 'U64':
    case 'I64':
    case 'By':
    case 'SB':
    case 'U16':
    case 'I16':
    case 'U32':
    case 'D':
    case 'DT':
    case 'TS':
    case 'G':
    case 'Version':
    case 'SemanticVersion':
    case 'SS':
      text = escapeXml(String(val));
      break;
    default:
      // URI, XD, SBK: strings, escaped like S (serialization.cs).
      text = escapeXml(encodeClixmlString(String(val)));
  }
  return `<${tag}${n}>${text}</${tag}>`;
}

/** CLIXML of one value in the remoting form (no `<Objs>` root, no namespace; RefIds from 0). */
export function serializeClixml(value: PSValue, options: SerializeOptions = {}): string {
  const w = new Writer();
  w.value(value, options.name);
  return w.toString();
}

/** The body of a message whose root is an `<Obj><MS>` of named values (most PSRP messages). */
export function serializeProperties(props: Iterable<[string, PSValue]>, typeNames?: string[]): string {
  return serializeClixml(new PSObject({ extended: props, ...(typeNames ? { typeNames } : {}) }));
}

/** The file form `Import-Clixml` reads. */
export function serializeClixmlDocument(values: readonly PSValue[]): string {
  const w = new Writer();
  for (const v of values) w.value(v, undefined);
  return `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">${w.toString()}</Objs>`;
}
