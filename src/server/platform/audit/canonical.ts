/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values an audit entry can hold: objects
 * with keys sorted by UTF-16 code units, no whitespace, strings and numbers as ECMAScript's
 * JSON.stringify writes them (which is what RFC 8785 prescribes). `undefined` members are left
 * out as JSON.stringify does; non-finite numbers and anything that is not JSON are refused.
 */
export function canonicalize(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: numbers must be finite');
      // ES Number-to-String, as RFC 8785 section 3.2.2.3 requires; -0 becomes "0".
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += value[i] === undefined ? 'null' : canonicalize(value[i]);
        }
        return `${out}]`;
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError('JCS: only plain objects, arrays and primitives');
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, the order RFC 8785 section 3.2.3 asks for.
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(key)}:${canonicalize(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`JCS: cannot encode a ${typeof value}`);
  }
}
