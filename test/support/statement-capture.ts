import pg from 'pg';

/**
 * Records the text of every statement sent to PostgreSQL through `pg` (the production driver)
 * while it is on: what the application really ran, for tests that inspect the statements
 * themselves (which tables they touch and how they are scoped). The statements still run.
 */
export function captureStatements(): { statements: Set<string>; stop(): void } {
  const statements = new Set<string>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    if (typeof text === 'string') statements.add(text.replace(/\s+/g, ' ').trim());
    return original.apply(this, args);
  };
  return {
    statements,
    stop() {
      proto.query = original;
    },
  };
}

/** The tables a statement names after FROM, JOIN, UPDATE, INTO or DELETE FROM. */
export function tablesOf(statement: string): string[] {
  const found = new Set<string>();
  for (const m of statement.matchAll(/\b(?:from|join|update|into)\s+(?:only\s+)?"?([a-z_][a-z0-9_]*)"?/gi)) {
    found.add(m[1]!.toLowerCase());
  }
  return [...found];
}
