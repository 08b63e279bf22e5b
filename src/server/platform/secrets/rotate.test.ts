import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../../test/support/app.ts';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../../../test/support/database.ts';
import { registerSealedColumn, rotateSecrets, sealedColumns } from './rotate.ts';
import { Secrets } from './secrets.ts';

// A table of this test's own, beside those the modules declare.
const TABLE = 'rotation_test_things';
const contextOf = (row: { id: unknown; owner: unknown }) => `thing:${row.owner}:${row.id}`;

let test: TestDatabase;
let unregister: () => void;
const oldKey = randomBytes(32);
const olderKey = randomBytes(32);
const newKey = randomBytes(32);
/** Before the rotation: the instance that sealed the existing values. */
const before = new Secrets(oldKey);
const older = new Secrets(olderKey);
/** After: the new key current, the old ones kept for opening. */
const after = new Secrets(newKey, [oldKey, olderKey]);

interface Thing {
  id: number;
  owner: string;
  secret: string | null;
}

async function things(): Promise<Thing[]> {
  const result = (await test.database.db.execute(
    sql.raw(`SELECT id, owner, secret FROM ${TABLE} ORDER BY id`),
  )) as unknown as { rows: Thing[] };
  return result.rows;
}

/** Fills the table: n values sealed under the old keys (a few under the older one), and a NULL. */
async function fill(n: number): Promise<Map<number, string>> {
  await test.database.db.execute(sql.raw(`DELETE FROM ${TABLE}`));
  const plain = new Map<number, string>();
  const rows: Thing[] = [];
  for (let id = 1; id <= n; id++) {
    const owner = `user-${id % 7}`;
    const value = `secret number ${id}`;
    plain.set(id, value);
    rows.push({ id, owner, secret: (id % 5 === 0 ? older : before).seal(value, contextOf({ id, owner })) });
  }
  rows.push({ id: n + 1, owner: 'nobody', secret: null });
  for (let i = 0; i < rows.length; i += 200) {
    await test.database.db.execute(
      sql`INSERT INTO ${sql.identifier(TABLE)} (id, owner, secret) VALUES ${sql.join(
        rows.slice(i, i + 200).map((r) => sql`(${r.id}, ${r.owner}, ${r.secret})`),
        sql`, `,
      )}`,
    );
  }
  return plain;
}

function expectAllOpen(rows: Thing[], plain: Map<number, string>, secrets: Secrets) {
  for (const row of rows) {
    if (row.secret === null) continue;
    expect(secrets.needsRotation(row.secret)).toBe(false);
    expect(secrets.open(row.secret, contextOf(row))).toBe(plain.get(row.id));
  }
}

beforeAll(async () => {
  test = await createTestDatabase();
  await test.database.db.execute(
    sql.raw(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, owner text NOT NULL, secret text)`),
  );
  unregister = registerSealedColumn({
    table: TABLE,
    idColumn: 'id',
    sealedColumn: 'secret',
    contextColumns: ['owner'],
    context: contextOf,
  });
});
afterAll(async () => {
  unregister?.();
  await test?.destroy();
});

describe('registerSealedColumn', () => {
  it('lists the column, refuses it twice and refuses names that are not plain identifiers', () => {
    // Beside the columns the app's modules declare (the accounts module's TOTP secrets).
    expect(sealedColumns()).toContain(`${TABLE}.secret`);
    expect(sealedColumns().filter((c) => c === `${TABLE}.secret`)).toHaveLength(1);
    const column = { table: TABLE, idColumn: 'id', sealedColumn: 'secret', context: contextOf };
    expect(() => registerSealedColumn(column)).toThrow(/already registered/);
    expect(() => registerSealedColumn({ ...column, table: 'x; DROP TABLE users' })).toThrow(
      /not a plain SQL identifier/,
    );
    expect(() => registerSealedColumn({ ...column, contextColumns: ['"owner"'] })).toThrow(
      /not a plain SQL identifier/,
    );
  });
});

describe('rotateSecrets', () => {
  beforeEach(async () => {
    await test.database.db.execute(sql.raw(`DELETE FROM ${TABLE}`));
  });

  it('re-seals every value under the current key in batches; a second run re-seals nothing', async () => {
    const plain = await fill(23);
    // One value already under the new key: left exactly as it is.
    const current = after.seal('already new', contextOf({ id: 3, owner: 'user-3' }));
    await test.database.db.execute(sql`UPDATE ${sql.identifier(TABLE)} SET secret = ${current} WHERE id = 3`);
    plain.set(3, 'already new');

    const report = await rotateSecrets(test.database, after, { batchSize: 4 });
    // This file's table holds the only sealed values (no account has a TOTP secret here).
    expect(report).toMatchObject({ keyId: after.currentKeyId, resealed: 22, failed: 0 });
    expect(report.columns.find((c) => c.column === `${TABLE}.secret`)).toEqual({
      column: `${TABLE}.secret`,
      resealed: 22,
      failures: [],
    });
    const rows = await things();
    expect(rows).toHaveLength(24);
    expect(rows.find((r) => r.id === 3)?.secret).toBe(current);
    expect(rows.find((r) => r.id === 24)?.secret).toBeNull();
    expectAllOpen(rows, plain, after);
    // Only the new key opens them now: the old keys can be dropped.
    const newOnly = new Secrets(newKey);
    expectAllOpen(rows, plain, newOnly);

    const again = await rotateSecrets(test.database, after, { batchSize: 4 });
    expect(again.resealed).toBe(0);
    expect(await things()).toEqual(rows);
  });

  it('leaves a value it cannot open as it is, reports it by id and goes on past it', async () => {
    const plain = await fill(9);
    const foreign = new Secrets(randomBytes(32)).seal('x', contextOf({ id: 2, owner: 'user-2' }));
    // A value moved from row 4 to row 5: it does not open there.
    const [four] = (await things()).filter((r) => r.id === 4);
    await test.database.db.execute(sql`UPDATE ${sql.identifier(TABLE)} SET secret = ${foreign} WHERE id = 2`);
    await test.database.db.execute(
      sql`UPDATE ${sql.identifier(TABLE)} SET secret = ${four?.secret ?? null} WHERE id = 5`,
    );

    const report = await rotateSecrets(test.database, after, { batchSize: 2 });
    expect(report.resealed).toBe(7);
    expect(report.failed).toBe(2);
    const failures = report.columns.find((c) => c.column === `${TABLE}.secret`)?.failures ?? [];
    expect(failures.map((f) => f.id)).toEqual([2, 5]);
    expect(failures[0]?.reason).toMatch(/neither SECRETS_KEY/);
    expect(failures[1]?.reason).toMatch(/does not authenticate/);
    const rows = await things();
    expect(rows.find((r) => r.id === 2)?.secret).toBe(foreign);
    expect(rows.find((r) => r.id === 5)?.secret).toBe(four?.secret);
    expectAllOpen(
      rows.filter((r) => r.id !== 2 && r.id !== 5),
      plain,
      after,
    );
    // The next run tries the same two again, and re-seals nothing else.
    const again = await rotateSecrets(test.database, after, { batchSize: 2 });
    expect([again.resealed, again.failed]).toEqual([0, 2]);
  });

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(rotateSecrets(test.database, after, { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });
});

describe.skipIf(!onPostgres)('rotateSecrets while others write or rotate (PostgreSQL)', () => {
  it('two rotations at once re-seal each value exactly once and leave every value openable', async () => {
    const plain = await fill(600);
    const [a, b] = await Promise.all([
      rotateSecrets(test.database, after, { batchSize: 25 }),
      rotateSecrets(test.database, new Secrets(newKey, [oldKey, olderKey]), { batchSize: 25 }),
    ]);
    expect(a.failed + b.failed).toBe(0);
    expect(a.resealed + b.resealed).toBe(600);
    expectAllOpen(await things(), plain, new Secrets(newKey));
  });

  it('skips a row a writer holds instead of waiting, never overwrites it, and the next run takes it', async () => {
    const plain = await fill(10);
    const pool = test.database.pool;
    if (!pool) throw new Error('expected PostgreSQL');
    const writer = await pool.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`SELECT * FROM ${TABLE} WHERE id = 6 FOR UPDATE`);
      const report = await rotateSecrets(test.database, after, { batchSize: 3 });
      expect(report.resealed).toBe(9);
      // The writer stores a new value (under the new key, as the app would) and commits.
      const written = after.seal('written meanwhile', contextOf({ id: 6, owner: 'user-6' }));
      await writer.query(`UPDATE ${TABLE} SET secret = $1 WHERE id = 6`, [written]);
      await writer.query('COMMIT');
      plain.set(6, 'written meanwhile');
      expect((await things()).find((r) => r.id === 6)?.secret).toBe(written);
    } finally {
      writer.release();
    }
    // Had the writer rolled back instead, the next run would re-seal the old value; here it is done.
    expect((await rotateSecrets(test.database, after, { batchSize: 3 })).resealed).toBe(0);
    expectAllOpen(await things(), plain, after);
  });
});

describe('the secrets key at start-up', () => {
  it('is generated into the data folder on first start and the same key is used on the next', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-secrets-start-'));
    try {
      const first = await createTestApp({ dataDir }, test);
      const sealed = first.app.gatehouse.secrets.seal('kept', 'ctx');
      const keyId = first.app.gatehouse.secrets.currentKeyId;
      await first.close();
      expect(fs.statSync(path.join(dataDir, 'secrets-key')).mode & 0o777).toBe(0o600);

      const second = await createTestApp({ dataDir }, test);
      expect(second.app.gatehouse.secrets.currentKeyId).toBe(keyId);
      expect(second.app.gatehouse.secrets.open(sealed, 'ctx')).toBe('kept');
      await second.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
