import { sql } from 'drizzle-orm';
import type { TestApp } from './app.ts';
import { createOrg } from './orgs.ts';

/**
 * An org on a paid plan with no invoice yet: created on Free and moved in the database, so the
 * invoice a paid plan's start issues (the subscription's own tests cover it) does not mix with
 * the invoices a test makes itself.
 */
export async function paidOrgWithoutInvoice(t: TestApp, plan: 'pro' | 'enterprise', name: string) {
  const org = await createOrg(t.app, { plan: 'free', name });
  await t.db.database.db.execute(sql`UPDATE organizations SET plan = ${plan} WHERE id = ${org.orgId}`);
  return org;
}
