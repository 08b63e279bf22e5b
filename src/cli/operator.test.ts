import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, signUp, type TestApp, uniqueEmail } from '../../test/support/app.ts';
import { runCli as run, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import {
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
  withToken,
} from '../../test/support/orgs.ts';
import { enableTwoFactor } from '../../test/support/two-factor.ts';
import { INSTANCE_CHAIN_ID } from '../server/platform/audit/entry.ts';
import { openDatabase } from '../server/platform/db/client.ts';
import { migrateDatabase } from '../server/platform/db/migrate.ts';
import { auditEvents } from '../server/platform/db/schema.ts';
import { requireReason } from './operator.ts';

/**
 * `gatehouse operator …` and `gatehouse break-glass`, spawned as operators run them, on the test's
 * database. On PostgreSQL the app stays up while the command runs (its caches must hear of each
 * change); the embedded database serves one process at a time, so there the app is closed while
 * the command runs and opened again on the same data folder after.
 */

const dirs = tempDirs('gatehouse-cli-operator-');
let pg: TestDatabase | undefined;
let dataDir: string;
let env: Record<string, string>;
let live: TestApp | undefined;

async function openApp(): Promise<TestApp> {
  if (pg) {
    live ??= await createTestApp({ dataDir }, pg);
    return live;
  }
  const database = await openDatabase({ dataDir });
  await migrateDatabase(database);
  const t = await createTestApp({ dataDir }, { database, url: undefined, destroy: () => database.close() });
  live = {
    ...t,
    close: async () => {
      await t.close();
      await database.close();
    },
  };
  return live;
}

/** The app, open (PGlite: opened on the data folder, closed again by `operator`). */
async function app(): Promise<TestApp['app']> {
  return (live ?? (await openApp())).app;
}

/** Runs the CLI with the database to itself where it must have it. */
async function operator(args: string[]) {
  if (!pg && live) {
    await live.close();
    live = undefined;
  }
  return run(args, env);
}

beforeAll(async () => {
  dataDir = dirs.make();
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: pg?.url ?? '',
    LOG_LEVEL: 'warn',
    AUDIT_SIGNING_KEY: '',
    AUDIT_SIGNING_KEY_FILE: '',
    SMTP_URL: '',
  };
  await openApp();
});
afterAll(async () => {
  await live?.close();
  await pg?.destroy();
  dirs.cleanup();
});

async function login(email: string, password: string) {
  return (await app()).inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { origin: ORIGIN },
    payload: { email, password },
  });
}

async function orgEntries(owner: Person, orgId: string) {
  const res = expectStatus(
    await as(await app(), owner).get(`/api/v1/orgs/${orgId}/audit-events?limit=200`),
    200,
  );
  return res.json().items as Array<{
    action: string;
    actor: { type: string; id: string | null; email: string | null };
    target: { type: string; id: string; email?: string };
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
  }>;
}

async function verifiesFully(owner: Person, orgId: string) {
  const res = expectStatus(
    await as(await app(), owner).get(`/api/v1/orgs/${orgId}/audit-events/verify?full=true`),
    200,
  );
  expect(res.json()).toMatchObject({ ok: true });
}

async function orgOf(owner: Person, orgId: string) {
  return expectStatus(await as(await app(), owner).get(`/api/v1/orgs/${orgId}`), 200).json();
}

// Each test spawns the command several times (a few seconds each on a busy machine).
describe('gatehouse operator and break-glass', { timeout: 120_000 }, () => {
  it('lists organizations and accounts, as a table and as JSON; the help names every account command', async () => {
    const org = await createOrg(await app(), { name: 'Listed Co', plan: 'free' });
    const text = await operator(['operator', 'orgs', 'list']);
    expect(text.code, text.out).toBe(0);
    expect(text.out).toMatch(/slug\s+name\s+plan\s+members\s+suspended\s+created/);
    expect(text.out).toContain(org.slug);
    const json = await operator(['operator', 'orgs', 'list', '--json']);
    expect(json.code, json.out).toBe(0);
    expect(JSON.parse(json.out)).toContainEqual(
      expect.objectContaining({
        slug: org.slug,
        name: 'Listed Co',
        plan: 'free',
        members: 1,
        suspended: false,
      }),
    );
    const users = await operator(['operator', 'users', 'list', '--json']);
    expect(users.code, users.out).toBe(0);
    expect(JSON.parse(users.out)).toContainEqual(
      expect.objectContaining({ email: org.owner.email, orgs: 1, disabled: false }),
    );
    const help = await operator(['operator', 'users', '--help']);
    expect(help.out).toContain('disable');
    expect(help.out).toContain('reset-2fa');
  });

  it('lists names people chose with the characters a terminal would act on (C1 controls, bidi overrides) escaped', async () => {
    const hostile = 'Evil\u009b2J\u202eon\u2066 Co';
    const owner = await signUp(await app(), { email: uniqueEmail('hostile'), name: hostile });
    await createOrg(await app(), { name: hostile }, owner);
    for (const what of ['orgs', 'users']) {
      const text = await operator(['operator', what, 'list']);
      expect(text.code, text.out).toBe(0);
      expect(text.out).not.toMatch(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(text.out).toContain('"Evil\\u009b2J\\u202eon\\u2066 Co"');
    }
  });

  it('break-glass makes a non-member an Owner, audited as the operator with the reason; the chain still verifies', async () => {
    const org = await createOrg(await app(), { name: 'Glass Co' });
    const rescuer = await signUp(await app(), { email: uniqueEmail('rescuer') });
    const done = await operator([
      'break-glass',
      '--org',
      org.slug,
      '--email',
      rescuer.email,
      '--reason',
      'Owner left the company, ticket OPS-12',
    ]);
    expect(done.code, done.out).toBe(0);
    expect(done.out).toContain('is now an Owner');
    const me = expectStatus(await as(await app(), rescuer).get('/api/v1/me'), 200).json();
    expect(me.memberships).toContainEqual(
      expect.objectContaining({ org: expect.objectContaining({ id: org.orgId }), role: 'owner' }),
    );
    const [entry] = await orgEntries(org.owner, org.orgId);
    expect(entry).toMatchObject({
      action: 'member.break_glass',
      actor: { type: 'operator', id: null, email: null },
      target: { type: 'member', id: rescuer.userId, email: rescuer.email },
      before: null,
      after: { role: 'owner', reason: 'Owner left the company, ticket OPS-12' },
    });
    await verifiesFully(org.owner, org.orgId);

    // Already an Owner: the role stays, but the day past the org's enforced SSO is granted again,
    // and that grant is on the record as the operator's, with its reason.
    const again = await operator([
      'break-glass',
      '--org',
      org.slug,
      '--email',
      rescuer.email,
      '--reason',
      'x',
    ]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('already an Owner');
    const glass = (await orgEntries(org.owner, org.orgId)).filter((e) => e.action === 'member.break_glass');
    expect(glass).toHaveLength(2);
    expect(glass[0]).toMatchObject({
      actor: { type: 'operator', id: null, email: null },
      target: { type: 'member', id: rescuer.userId, email: rescuer.email },
      before: { role: 'owner' },
      after: { role: 'owner', ssoBypassUntil: expect.any(String), reason: 'x' },
    });
    await verifiesFully(org.owner, org.orgId);
  });

  it('set-plan moves an organization to a paid plan, audited; an unknown plan, slug or email changes nothing (exit 2)', async () => {
    const org = await createOrg(await app(), { name: 'Plan Co', plan: 'free' });
    const unknownPlan = await operator([
      'operator',
      'orgs',
      'set-plan',
      org.slug,
      'platinum',
      '--reason',
      'deal',
    ]);
    expect(unknownPlan.code).toBe(2);
    expect(unknownPlan.out).toContain('unknown plan "platinum"');
    const unknownSlug = await operator([
      'operator',
      'orgs',
      'set-plan',
      'no-such-org-x',
      'pro',
      '--reason',
      'deal',
    ]);
    expect(unknownSlug.code).toBe(2);
    expect(unknownSlug.out).toContain('No live organization has the slug "no-such-org-x"');
    const unknownEmail = await operator([
      'break-glass',
      '--org',
      org.slug,
      '--email',
      'nobody-here@example.test',
      '--reason',
      'x',
    ]);
    expect(unknownEmail.code).toBe(2);
    expect(unknownEmail.out).toContain('No account has the email nobody-here@example.test');
    expect((await orgOf(org.owner, org.orgId)).plan).toBe('free');
    expect((await orgEntries(org.owner, org.orgId)).map((e) => e.action)).toEqual(['org.created']);

    const moved = await operator([
      'operator',
      'orgs',
      'set-plan',
      org.slug,
      'pro',
      '--reason',
      'Signed contract 42',
    ]);
    expect(moved.code, moved.out).toBe(0);
    const after = await orgOf(org.owner, org.orgId);
    expect(after.plan).toBe('pro');
    expect(after.entitlements.customRoles).toBe(true);
    const [entry] = await orgEntries(org.owner, org.orgId);
    expect(entry).toMatchObject({
      action: 'org.plan_changed',
      actor: { type: 'operator' },
      target: { type: 'organization', id: org.orgId },
      before: { plan: 'free' },
      after: { plan: 'pro', reason: 'Signed contract 42' },
    });
    // The same change as a billing manager's: the month from today is invoiced.
    expect(moved.out).toMatch(/invoice \d+ issued for the rest of the period: 29\.00 USD/);
    const sub = expectStatus(
      await as(await app(), org.owner).get(`/api/v1/orgs/${org.orgId}/billing/subscription`),
      200,
    ).json();
    expect(sub).toMatchObject({ plan: 'pro', amount: 2900 });
    expect(sub.nextBillingDate).not.toBeNull();
    await verifiesFully(org.owner, org.orgId);
  });

  it('set-plan overrides what the organization uses beyond the new plan, and says what it should change', async () => {
    const org = await createOrg(await app(), { name: 'Override Co', plan: 'enterprise' });
    expectStatus(
      await as(await app(), org.owner).patch(`/api/v1/orgs/${org.orgId}/security`, {
        sessionIdleMinutes: 120,
      }),
      200,
    );
    const moved = await operator([
      'operator',
      'orgs',
      'set-plan',
      org.slug,
      'pro',
      '--reason',
      'Downgrade 7',
    ]);
    expect(moved.code, moved.out).toBe(0);
    expect(moved.out).toContain('now on the pro plan');
    expect(moved.out).toContain('overridden: the organization uses more than the pro plan allows');
    expect(moved.out).toContain('The idle timeout is not 30 minutes');
    expect((await orgOf(org.owner, org.orgId)).plan).toBe('pro');
    const [entry] = await orgEntries(org.owner, org.orgId);
    expect(entry).toMatchObject({
      action: 'org.plan_changed',
      after: { plan: 'pro', overridden: [expect.objectContaining({ kind: 'session_timeout' })] },
    });
  });

  it('takes a reason only as one line of plain text: no control, bidi or invisible characters', () => {
    expect(requireReason('  Owner locked out, ticket #4411  ')).toBe('Owner locked out, ticket #4411');
    for (const bad of ['a\nb', 'a\u009b2Jb', 'ok \u202egnp.exe', 'zero\u200bwidth', 'b\ufeffom', '']) {
      expect(() => requireReason(bad), JSON.stringify(bad)).toThrow(/--reason/);
    }
  });

  it('refuses every write without --reason (exit 2), changing nothing', async () => {
    const org = await createOrg(await app(), { name: 'Reasonless Co', plan: 'free' });
    const someone = await signUp(await app(), { email: uniqueEmail('someone') });
    for (const args of [
      ['operator', 'orgs', 'suspend', org.slug],
      ['operator', 'orgs', 'set-plan', org.slug, 'enterprise', '--reason', '   '],
      ['operator', 'orgs', 'delete', org.slug],
      ['operator', 'users', 'disable', someone.email],
      ['break-glass', '--org', org.slug, '--email', someone.email],
    ]) {
      const res = await operator(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.out).toContain('--reason "<why>" is required');
    }
    expect(await orgOf(org.owner, org.orgId)).toMatchObject({ plan: 'free' });
    expect((await orgEntries(org.owner, org.orgId)).map((e) => e.action)).toEqual(['org.created']);
    expect((await login(someone.email, someone.password)).statusCode).toBe(200);
  });

  it('a suspended organization answers 403 org_suspended to cookie and token alike, still listed as suspended; unsuspending restores it', async () => {
    const org = await createOrg(await app(), { name: 'Suspended Co' });
    const { token } = await createPersonalToken(await app(), org.owner, org.orgId, ['read']);
    // Warm every cache first: the change must reach a server that already decided.
    expectStatus(await as(await app(), org.owner).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    expectStatus(await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`), 200);

    const suspended = await operator(['operator', 'orgs', 'suspend', org.slug, '--reason', 'Abuse report 7']);
    expect(suspended.code, suspended.out).toBe(0);
    for (const res of [
      await as(await app(), org.owner).get(`/api/v1/orgs/${org.orgId}/members`),
      await as(await app(), org.owner).patch(`/api/v1/orgs/${org.orgId}`, { name: 'Renamed' }),
      await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`),
    ]) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('org_suspended');
    }
    // The account's own reads still work, and say so.
    const me = expectStatus(await as(await app(), org.owner).get('/api/v1/me'), 200).json();
    expect(me.memberships).toContainEqual(
      expect.objectContaining({ org: expect.objectContaining({ id: org.orgId, suspended: true }) }),
    );
    const list = expectStatus(await as(await app(), org.owner).get('/api/v1/orgs'), 200).json();
    expect(list.items).toContainEqual(expect.objectContaining({ id: org.orgId, suspended: true }));
    // Someone who is not a member still learns nothing.
    const stranger = await signUp(await app(), { email: uniqueEmail('stranger') });
    expect((await as(await app(), stranger).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(404);

    const lifted = await operator(['operator', 'orgs', 'unsuspend', org.slug, '--reason', 'Resolved']);
    expect(lifted.code, lifted.out).toBe(0);
    expectStatus(await as(await app(), org.owner).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    expectStatus(await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`), 200);
    const entries = await orgEntries(org.owner, org.orgId);
    expect(entries.slice(0, 2)).toMatchObject([
      {
        action: 'org.unsuspended',
        actor: { type: 'operator' },
        after: { suspended: false, reason: 'Resolved' },
      },
      {
        action: 'org.suspended',
        actor: { type: 'operator' },
        after: { suspended: true, reason: 'Abuse report 7' },
      },
    ]);
    await verifiesFully(org.owner, org.orgId);
  });

  it('a disabled account cannot sign in and its session and token are refused; enabling restores sign-in; both in the installation log', async () => {
    const org = await createOrg(await app(), { name: 'Disabled Co' });
    const user = org.owner;
    const { token } = await createPersonalToken(await app(), user, org.orgId, ['read']);
    expectStatus(await as(await app(), user).get('/api/v1/me'), 200);
    expectStatus(await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`), 200);

    const disabled = await operator([
      'operator',
      'users',
      'disable',
      user.email,
      '--reason',
      'Compromised laptop',
    ]);
    expect(disabled.code, disabled.out).toBe(0);
    expect(disabled.out).toContain('1 session ended');
    expect((await as(await app(), user).get('/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`)).statusCode).toBe(
      401,
    );
    expect((await withToken(await app(), token).get('/api/v1/me')).statusCode).toBe(401);
    const refused = await login(user.email, user.password);
    expect(refused.statusCode).toBe(401);
    // The same answer as a wrong password.
    const wrong = await login(user.email, 'not-the-password-at-all');
    expect(refused.json()).toMatchObject({ code: 'invalid_credentials', detail: wrong.json().detail });

    const enabled = await operator(['operator', 'users', 'enable', user.email, '--reason', 'Laptop wiped']);
    expect(enabled.code, enabled.out).toBe(0);
    const back = await login(user.email, user.password);
    expect(back.statusCode, back.body).toBe(200);
    expectStatus(await withToken(await app(), token).get(`/api/v1/orgs/${org.orgId}/members`), 200);

    const unknown = await operator([
      'operator',
      'users',
      'disable',
      'nobody-else@example.test',
      '--reason',
      'x',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('No account has the email');

    await app();
    const t = live!;
    const rows = await t.db.database.db
      .select({ action: auditEvents.action, actorType: auditEvents.actorType, after: auditEvents.after })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, INSTANCE_CHAIN_ID), eq(auditEvents.targetId, user.userId)))
      .orderBy(auditEvents.seq);
    expect(rows).toEqual([
      {
        action: 'user.disabled',
        actorType: 'operator',
        after: { disabled: true, sessionsEnded: 1, reason: 'Compromised laptop' },
      },
      { action: 'user.enabled', actorType: 'operator', after: { disabled: false, reason: 'Laptop wiped' } },
    ]);
    const report = await t.app.gatehouse.audit.verify(t.db.database.db, {
      kind: 'instance',
      id: INSTANCE_CHAIN_ID,
    });
    expect(report.ok, report.detail).toBe(true);
  });

  it('reset-2fa turns off a locked-out account’s 2FA and ends its sessions, audited as the operator with the reason', async () => {
    const who = await signUp(await app(), { email: uniqueEmail('lost-phone') });
    await enableTwoFactor(await app(), who);
    expect((await login(who.email, who.password)).json().code).toBe('second_factor_required');

    const refused = await operator(['operator', 'users', 'reset-2fa', who.email]);
    expect(refused.code).toBe(2);
    expect(refused.out).toContain('--reason "<why>" is required');
    expect((await login(who.email, who.password)).json().code).toBe('second_factor_required');

    const reset = await operator([
      'operator',
      'users',
      'reset-2fa',
      who.email,
      '--reason',
      'Lost phone, identity checked on a call, ticket SEC-7',
    ]);
    expect(reset.code, reset.out).toBe(0);
    expect(reset.out).toContain('1 session ended');
    // The session it had is over; the password alone signs in.
    expect((await as(await app(), who).get('/api/v1/me')).statusCode).toBe(401);
    const back = await login(who.email, who.password);
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().user.twoFactorEnabled).toBe(false);

    const again = await operator(['operator', 'users', 'reset-2fa', who.email, '--reason', 'x']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('nothing changed');

    await app();
    const t = live!;
    const rows = await t.db.database.db
      .select({ action: auditEvents.action, actorType: auditEvents.actorType, after: auditEvents.after })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, INSTANCE_CHAIN_ID), eq(auditEvents.targetId, who.userId)))
      .orderBy(auditEvents.seq);
    expect(rows).toEqual([
      {
        action: 'user.2fa_reset',
        actorType: 'operator',
        after: {
          twoFactorEnabled: false,
          sessionsEnded: 1,
          reason: 'Lost phone, identity checked on a call, ticket SEC-7',
        },
      },
    ]);
    const report = await t.app.gatehouse.audit.verify(t.db.database.db, {
      kind: 'instance',
      id: INSTANCE_CHAIN_ID,
    });
    expect(report.ok, report.detail).toBe(true);
  });

  it('deletes an organization as its Owner would: access ends and the slug is free', async () => {
    const org = await createOrg(await app(), { name: 'Doomed Co' });
    const deleted = await operator([
      'operator',
      'orgs',
      'delete',
      org.slug,
      '--reason',
      'Customer asked, #99',
    ]);
    expect(deleted.code, deleted.out).toBe(0);
    expect((await as(await app(), org.owner).get(`/api/v1/orgs/${org.orgId}`)).statusCode).toBe(404);
    const listed = await operator(['operator', 'orgs', 'list', '--json']);
    expect(JSON.parse(listed.out).map((o: { slug: string }) => o.slug)).not.toContain(org.slug);
  });

  it('plans show lists the catalog and module costs; set-module-cost changes one, audited with its reason, and GET /plans shows it', {
    timeout: 240_000,
  }, async () => {
    const shown = await operator(['operator', 'plans', 'show']);
    expect(shown.code, shown.out).toBe(0);
    expect(shown.out).toMatch(/plan\s+name\s+tokens\/month\s+members/);
    expect(shown.out).toMatch(/free\s+Free\s+48\s+5/);
    expect(shown.out).toMatch(/sast\s+15/);

    for (const [args, message] of [
      [['sast', '12'], '--reason "<why>" is required'],
      [['linting', '12', '--reason', 'x'], 'unknown module "linting"'],
      [['sast', '1.5', '--reason', 'x'], '<tokens> must be a whole number'],
    ] as const) {
      const refused = await operator(['operator', 'plans', 'set-module-cost', ...args]);
      expect(refused.code, refused.out).toBe(2);
      expect(refused.out).toContain(message);
    }
    const set = await operator([
      'operator',
      'plans',
      'set-module-cost',
      'sast',
      '12',
      '--reason',
      'New SAST engine is cheaper',
    ]);
    expect(set.code, set.out).toBe(0);
    expect(set.out).toContain('a sast scan now costs 12 tokens');
    const again = await operator(['operator', 'plans', 'set-module-cost', 'sast', '12', '--reason', 'again']);
    expect(again.out).toContain('nothing changed');
    const json = await operator(['operator', 'plans', 'show', '--json']);
    expect(JSON.parse(json.out).moduleCosts).toEqual({ dependencies: 10, sast: 12, secrets: 5, api: 20 });

    const plans = expectStatus(
      await (await app()).inject({ method: 'GET', url: '/api/v1/plans' }),
      200,
    ).json();
    expect(plans.moduleCosts.sast).toBe(12);
    const t = live!;
    const rows = await t.db.database.db
      .select({
        action: auditEvents.action,
        actorType: auditEvents.actorType,
        before: auditEvents.before,
        after: auditEvents.after,
      })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, INSTANCE_CHAIN_ID), eq(auditEvents.action, 'module_cost.changed')));
    expect(rows).toEqual([
      {
        action: 'module_cost.changed',
        actorType: 'operator',
        before: { tokens: 15 },
        after: { tokens: 12, reason: 'New SAST engine is cheaper' },
      },
    ]);
    const report = await t.app.gatehouse.audit.verify(t.db.database.db, {
      kind: 'instance',
      id: INSTANCE_CHAIN_ID,
    });
    expect(report.ok, report.detail).toBe(true);
  });
});
