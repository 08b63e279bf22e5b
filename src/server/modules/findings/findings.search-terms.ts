import { sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { findings } from '../../platform/db/schema.ts';

/**
 * Which parts of a search key the trigram index is asked for.
 *
 * GIN answers `key LIKE '%module42file%'` by reading the posting list of every trigram of the
 * pattern: for each row holding the rarest one it looks the row up in all the others. A trigram
 * that nearly every row holds ("mod", "ile" when every path is src/module…/file…) costs as much
 * as the rest of the search, and narrows nothing. So the index is asked for the rarest few
 * trigrams of the term only, each a `LIKE '%abc%'` on the key (each a necessary condition: a
 * substring of the term's key is in the key of every row that matches); the LIKE on the search
 * text still decides. How rare a trigram is comes from a sample of the findings' keys
 * (SearchTrigramSample): across every organization, as the index is.
 */

/** Sampled share of the findings whose key holds each trigram; trigrams below MIN_SHARE left out. */
export type TrigramShares = ReadonlyMap<string, number>;

/** The index is asked for trigrams until the rows expected to hold them all are below this share. */
const ENOUGH_SHARE = 0.001;
/** And never for more than this many: each costs a lookup per candidate row. */
const MAX_TRIGRAMS = 3;
/** Trigrams rarer than this in the sample are not kept (as rare as any unseen one, for the choice). */
const MIN_SHARE = 0.0005;
/** About how many findings the sample reads. */
const SAMPLE_ROWS = 20_000;
/** How old a sample may be before a search refreshes it (in the background). */
const REFRESH_MS = 10 * 60_000;
/** After a failed sample, how long before one is tried again. */
const RETRY_MS = 60_000;

/**
 * The trigrams pg_trgm takes from a pattern with wildcards at both ends: those inside each run of
 * letters and digits (it splits words at any other character). Lower case, as the key is.
 */
export function keyTrigrams(key: string): string[] {
  const trigrams = new Set<string>();
  for (const word of key.match(/[\p{L}\p{N}]+/gu) ?? []) {
    const chars = [...word];
    for (let i = 0; i + 3 <= chars.length; i++) trigrams.add(chars.slice(i, i + 3).join(''));
  }
  return [...trigrams];
}

/** Letters and digits of ASCII: word characters to pg_trgm whatever the database's locale. */
const isAsciiWordChar = (c: string) => /^[A-Za-z0-9]$/.test(c);

/**
 * The substrings of `key` to ask the trigram index for: its rarest trigrams by `shares`, as few
 * as make the expected candidates rare (independence assumed), at most MAX_TRIGRAMS. Only ASCII
 * letters and digits are weighed (pg_trgm keeps other trigrams as hashes the sample does not
 * name); without a sample, or without such a trigram, the whole key. None (the caller walks the
 * list instead) when pg_trgm would take no trigram from the key: GIN answers a LIKE without one
 * with every row of the index, every organization's. `isWordChar` says which characters pg_trgm
 * counts as word characters (it asks the database's locale; a digit like "²" is one to
 * JavaScript, not to it): by default the ASCII letters and digits only, the ones sure to be.
 *
 * The key is the term as typed, in any case: the caller lowers the terms in SQL, as the search key
 * was (lowering in JavaScript differs from the database's beyond ASCII).
 */
export function indexTermsOf(
  key: string,
  shares: TrigramShares | undefined,
  isWordChar: (c: string) => boolean = isAsciiWordChar,
): string[] {
  const trigrams = keyTrigrams(key).filter((t) => /^[A-Za-z0-9]{3}$/.test(t));
  if (!shares || trigrams.length === 0) return hasWordOfThree(key, isWordChar) ? [key] : [];
  // Rarest first; a trigram the sample did not keep counts as rarer than any it did. Ties keep
  // the term's order, so the same term always asks for the same trigrams.
  const ranked = trigrams
    .map((t, i) => ({ t, i, share: shares.get(t.toLowerCase()) ?? 0 }))
    .sort((a, b) => a.share - b.share || a.i - b.i);
  const chosen: string[] = [];
  let expected = 1;
  for (const { t, share } of ranked) {
    chosen.push(t);
    expected *= share;
    if (expected < ENOUGH_SHARE || chosen.length === MAX_TRIGRAMS) break;
  }
  return chosen;
}

/** Whether three word characters follow each other in `key`: pg_trgm then takes a trigram from it. */
function hasWordOfThree(key: string, isWordChar: (c: string) => boolean): boolean {
  let run = 0;
  for (const c of key) {
    run = isWordChar(c) ? run + 1 : 0;
    if (run === 3) return true;
  }
  return false;
}

/**
 * Which characters of `key` pg_trgm counts as word characters in this database (a character is
 * one when it gives a trigram alone, lowered as the search key is): for keys whose words only
 * the database's locale can tell.
 */
export async function trigramWordChars(db: Executor, key: string): Promise<(c: string) => boolean> {
  // ASCII characters other than letters and digits never are.
  const chars = [...new Set(key)].filter((c) => c.codePointAt(0)! > 0x7f);
  if (chars.length === 0) return isAsciiWordChar;
  const [row] = await db
    .execute(
      sql`SELECT coalesce(array_agg(c), '{}') AS chars
            FROM unnest(ARRAY[${sql.join(
              chars.map((c) => sql`${c}`),
              sql`, `,
            )}]::text[]) AS c
           WHERE cardinality(show_trgm(lower(c))) > 0`,
    )
    .then((r) => (r as unknown as { rows: Array<{ chars: string[] }> }).rows);
  const words = new Set(row?.chars ?? []);
  return (c) => isAsciiWordChar(c) || words.has(c);
}

/**
 * A sample of the findings' search keys, counted by trigram: taken the first time a search needs
 * it (that search waits for it, once), then refreshed in the background by the searches that
 * find it older than REFRESH_MS. One per server process; each instance samples on its own.
 */
export class SearchTrigramSample {
  private shares: TrigramShares | undefined;
  private takenAt = 0;
  private failedAt = 0;
  private taking: Promise<void> | undefined;

  constructor(
    private readonly db: Executor,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The current sample, waiting for the first one; undefined while none could be taken. */
  async current(): Promise<TrigramShares | undefined> {
    const now = Date.now();
    const due = now - this.takenAt > REFRESH_MS && now - this.failedAt > RETRY_MS;
    if (due && !this.taking) {
      this.taking = this.take().finally(() => {
        this.taking = undefined;
      });
    }
    if (!this.shares && this.taking) await this.taking;
    return this.shares;
  }

  private async take(): Promise<void> {
    try {
      this.shares = await sampleShares(this.db);
      this.takenAt = Date.now();
    } catch (error) {
      this.failedAt = Date.now();
      this.onError(error);
    }
  }
}

/**
 * Share of the sampled findings holding each trigram in its key. The sample is TABLESAMPLE
 * SYSTEM (whole pages) sized from the planner's row estimate, all of a small table.
 */
async function sampleShares(db: Executor): Promise<Map<string, number>> {
  const [size] = await db
    .execute(sql`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'findings'::regclass`)
    .then((r) => (r as unknown as { rows: Array<{ n: number }> }).rows);
  const estimate = size?.n ?? -1;
  const percent = estimate <= SAMPLE_ROWS ? 100 : Math.max(0.01, (100 * SAMPLE_ROWS) / estimate);
  const rows = await db
    .execute(
      sql`WITH sampled AS (
            SELECT ${findings.searchKey} AS key
              FROM ${findings} TABLESAMPLE SYSTEM (${sql.raw(percent.toFixed(4))})
             LIMIT ${SAMPLE_ROWS * 2}
          )
          SELECT (SELECT count(*)::int FROM sampled) AS total, t AS trigram, count(*)::int AS n
            FROM sampled, unnest(show_trgm(sampled.key)) AS t
           GROUP BY t`,
    )
    .then((r) => (r as unknown as { rows: Array<{ total: number; trigram: string; n: number }> }).rows);
  const shares = new Map<string, number>();
  for (const { total, trigram, n } of rows) {
    const share = n / total;
    if (share >= MIN_SHARE) shares.set(trigram, share);
  }
  return shares;
}
