-- The findings search's trigram index moves to a stored search key: the search text without its
-- separators (space and ASCII punctuation), so that a term like "module42/file" keeps its order
-- across the slash. Adding a stored generated column rewrites the table (a lock for the time
-- it takes: some seconds per million findings).
DROP INDEX "findings_search_trgm_idx";--> statement-breakpoint
ALTER TABLE "findings" ADD COLUMN "search_key" text GENERATED ALWAYS AS (translate(lower(title || ' ' || rule_id || ' ' || coalesce(location->>'path', '')), ' !"#$%&()*+,-./:<=>?@[]^_`{|}~', '')) STORED;--> statement-breakpoint
CREATE INDEX "findings_search_trgm_idx" ON "findings" USING gin ("search_key" gin_trgm_ops);