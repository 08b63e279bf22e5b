import type { Executor } from './client.ts';

/**
 * A query built once per executor instead of on every call. Building a query through drizzle
 * (walking its SQL tree, escaping names, mapping the selection) costs more CPU than the round trip
 * of a primary-key read; a prepared query keeps the built SQL, and on PostgreSQL it is a named
 * statement that each pooled connection parses and plans once. Parameters are
 * `sql.placeholder(...)`s filled at `execute`.
 *
 * Each executor gets its own: a statement prepared on the pool does not run inside a transaction,
 * so one called with a transaction is built for that transaction (and dropped with it).
 */
export function preparedPerExecutor<P>(build: (db: Executor) => P): (db: Executor) => P {
  const built = new WeakMap<Executor, P>();
  return (db) => {
    let prepared = built.get(db);
    if (prepared === undefined) {
      prepared = build(db);
      built.set(db, prepared);
    }
    return prepared;
  };
}
