import { isPlan, PLANS } from '../contracts/plans.ts';
import type { Config } from '../server/config.ts';
import { AppError } from '../server/platform/errors/app-error.ts';
import { type OperatorSession, openOperator, requireReason, UsageError } from './operator.ts';

/**
 * `gatehouse operator …` and `gatehouse break-glass`. Exit 0 when done (or when nothing needed
 * doing, which is said and not recorded), 2 for what the operator typed wrong (no --reason, an
 * unknown slug, email or plan: nothing is changed), 1 when the change is refused (the owner cap).
 */

const out = (line: string) => process.stdout.write(`${line}\n`);

async function withOperator<T>(
  config: Config,
  writes: boolean,
  fn: (session: OperatorSession) => Promise<T>,
): Promise<T> {
  const session = await openOperator(config, { writes });
  try {
    return await fn(session);
  } catch (err) {
    if (err instanceof AppError) {
      // Not found: a slug, email or plan that does not exist is the operator's typo (and a slug
      // that names several things, theirs to make precise).
      throw err.status === 404 || err.status === 400 ? new UsageError(err.message) : new Error(err.message);
    }
    throw err;
  } finally {
    await session.close();
  }
}

/**
 * Text someone else chose (a name, an email), quoted for the operator's terminal: JSON escapes C0
 * controls but leaves C1 controls (U+009B is CSI to many terminals) and the bidi and invisible
 * format characters that reorder or hide what follows, so those are escaped here too.
 */
export function shown(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function table(rows: Record<string, string>[], columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => r[c]!)))].join('\n');
}

export async function runOperatorOrgsList(
  config: Config,
  options: { json?: boolean; deleted?: boolean },
): Promise<void> {
  if (options.deleted) return runOperatorDeletedOrgsList(config, options);
  const { listAllOrgs } = await import('../server/modules/operator/index.ts');
  const orgs = await withOperator(config, false, (s) => s.read((db) => listAllOrgs(db)));
  if (options.json) {
    out(JSON.stringify(orgs.map((o) => ({ ...o, createdAt: o.createdAt.toISOString() }))));
    return;
  }
  if (orgs.length === 0) {
    out('no organizations');
    return;
  }
  out(
    table(
      orgs.map((o) => ({
        slug: o.slug,
        name: shown(o.name),
        plan: o.plan,
        members: String(o.members),
        suspended: o.suspended ? 'yes' : 'no',
        created: o.createdAt.toISOString(),
      })),
      ['slug', 'name', 'plan', 'members', 'suspended', 'created'],
    ),
  );
}

const DAY_MS = 86_400_000;

/**
 * Deleted organizations not yet purged: when each was deleted and from when its data is purged
 * (ORG_PURGE_GRACE_DAYS later); until then `orgs restore` brings it back.
 */
async function runOperatorDeletedOrgsList(config: Config, options: { json?: boolean }): Promise<void> {
  const { listDeletedOrgs } = await import('../server/modules/operator/index.ts');
  const orgs = await withOperator(config, false, (s) => s.read((db) => listDeletedOrgs(db)));
  const graceMs = config.organizations.purgeGraceDays * DAY_MS;
  const shownOrgs = orgs.map((o) => ({
    id: o.id,
    slug: o.slug,
    name: o.name,
    plan: o.plan,
    deletedAt: o.deletedAt.toISOString(),
    purgeAfter: new Date(o.deletedAt.getTime() + graceMs).toISOString(),
  }));
  if (options.json) {
    out(JSON.stringify(shownOrgs));
    return;
  }
  if (shownOrgs.length === 0) {
    out('no deleted organizations waiting to be purged');
    return;
  }
  out(
    table(
      shownOrgs.map((o) => ({
        id: o.id,
        slug: o.slug,
        name: shown(o.name),
        plan: o.plan,
        deleted: o.deletedAt,
        'purged after': o.purgeAfter,
      })),
      ['id', 'slug', 'name', 'plan', 'deleted', 'purged after'],
    ),
  );
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export async function runOperatorOrgRestore(
  config: Config,
  org: string,
  options: { reason?: string; slug?: string },
): Promise<void> {
  const reason = requireReason(options.reason);
  if (
    options.slug !== undefined &&
    (!SLUG.test(options.slug) || options.slug.length < 2 || options.slug.length > 40)
  ) {
    throw new UsageError('--slug must be 2 to 40 lowercase letters, digits and dashes (not at either end)');
  }
  const { restoreOrganization } = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    const { org: restored, previousSlug } = await s.run(restoreOrganization, {
      org,
      reason,
      graceDays: config.organizations.purgeGraceDays,
      ...(options.slug ? { slug: options.slug } : {}),
    });
    out(
      `restored ${restored.slug}${restored.slug === previousSlug ? '' : ` (was ${previousSlug})`}: its members have their access back; ` +
        'its API tokens stay revoked',
    );
  });
}

export async function runOperatorUsersList(config: Config, options: { json?: boolean }): Promise<void> {
  const { listAllUsers } = await import('../server/modules/operator/index.ts');
  const users = await withOperator(config, false, (s) => s.read((db) => listAllUsers(db)));
  if (options.json) {
    out(JSON.stringify(users.map((u) => ({ ...u, createdAt: u.createdAt.toISOString() }))));
    return;
  }
  if (users.length === 0) {
    out('no accounts');
    return;
  }
  out(
    table(
      users.map((u) => ({
        email: u.email,
        name: shown(u.name),
        orgs: String(u.orgs),
        disabled: u.disabled ? 'yes' : 'no',
        created: u.createdAt.toISOString(),
      })),
      ['email', 'name', 'orgs', 'disabled', 'created'],
    ),
  );
}

type OrgWrite = 'suspend' | 'unsuspend' | 'delete' | 'set-plan';

export async function runOperatorOrgWrite(
  config: Config,
  what: OrgWrite,
  slug: string,
  options: { reason?: string; plan?: string },
): Promise<void> {
  const reason = requireReason(options.reason);
  if (what === 'set-plan' && !isPlan(options.plan)) {
    throw new UsageError(`unknown plan "${options.plan}": the plans are ${PLANS.join(', ')}`);
  }
  const ops = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    switch (what) {
      case 'suspend': {
        const { org, changed } = await s.run(ops.suspendOrganization, { slug, reason });
        out(changed ? `suspended ${org.slug}` : `${org.slug} was already suspended; nothing changed`);
        return;
      }
      case 'unsuspend': {
        const { org, changed } = await s.run(ops.unsuspendOrganization, { slug, reason });
        out(changed ? `unsuspended ${org.slug}` : `${org.slug} was not suspended; nothing changed`);
        return;
      }
      case 'delete': {
        const { org } = await s.run(ops.deleteOrganizationAsOperator, { slug, reason });
        out(`deleted ${org.slug}: its members' access and its tokens are ended; the slug is free`);
        return;
      }
      case 'set-plan': {
        const plan = options.plan!;
        const { org, changed, blockers, amountDue, invoiceNumber } = await s.run(ops.changeOrganizationPlan, {
          slug,
          plan,
          reason,
        });
        if (!changed) {
          out(`${org.slug} is already on ${plan}; nothing changed`);
          return;
        }
        out(`${org.slug} is now on the ${plan} plan`);
        if (invoiceNumber !== null) {
          out(
            `invoice ${invoiceNumber} issued for the rest of the period: ${(amountDue / 100).toFixed(2)} USD`,
          );
        }
        if (blockers.length > 0) {
          // The operator's change goes ahead; the org has these to undo (they are recorded).
          out(`overridden: the organization uses more than the ${plan} plan allows; it should change:`);
          for (const b of blockers) out(`  - ${b.detail}`);
        }
        return;
      }
    }
  });
}

export async function runOperatorUserWrite(
  config: Config,
  what: 'disable' | 'enable' | 'reset-2fa',
  email: string,
  options: { reason?: string },
): Promise<void> {
  const reason = requireReason(options.reason);
  const ops = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    if (what === 'reset-2fa') {
      const { user, changed, sessionsEnded } = await s.run(ops.resetUserTwoFactor, { email, reason });
      out(
        changed
          ? `two-factor authentication of ${user.email} is off: ${sessionsEnded} session${sessionsEnded === 1 ? '' : 's'} ended; it signs in with its password and can set 2FA up again`
          : `${user.email} has no two-factor authentication; nothing changed`,
      );
    } else if (what === 'disable') {
      const { user, changed, sessionsEnded } = await s.run(ops.disableUser, { email, reason });
      out(
        changed
          ? `disabled ${user.email}: ${sessionsEnded} session${sessionsEnded === 1 ? '' : 's'} ended; its personal tokens are refused until it is enabled`
          : `${user.email} was already disabled; nothing changed`,
      );
    } else {
      const { user, changed } = await s.run(ops.enableUser, { email, reason });
      out(changed ? `enabled ${user.email}` : `${user.email} was not disabled; nothing changed`);
    }
  });
}

export async function runBreakGlass(
  config: Config,
  options: { org?: string; email?: string; reason?: string },
): Promise<void> {
  if (!options.org) throw new UsageError('--org <slug> is required');
  if (!options.email) throw new UsageError('--email <email> is required');
  const reason = requireReason(options.reason);
  const { slug, email } = { slug: options.org, email: options.email };
  const ops = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    const result = await s.run(ops.breakGlass, {
      slug,
      email,
      reason,
      maxOwnedPerUser: config.organizations.maxOwnedPerUser,
    });
    out(
      `${
        !result.changed
          ? `${result.user.email} is already an Owner of ${result.org.slug}`
          : result.was
            ? `${result.user.email} is now an Owner of ${result.org.slug} (was ${result.was})`
            : `${result.user.email} is now an Owner of ${result.org.slug} (joined as Owner)`
      }; for 24 hours they may use it without its single sign-on, even where SSO is enforced`,
    );
  });
}

export async function runOperatorPlansShow(config: Config, options: { json?: boolean }): Promise<void> {
  const { planCatalog } = await import('../server/modules/operator/index.ts');
  const catalog = await withOperator(config, false, (s) => s.read((db) => planCatalog(db)));
  if (options.json) {
    out(JSON.stringify(catalog));
    return;
  }
  out(
    table(
      catalog.items.map((p) => ({
        plan: p.id,
        name: p.name,
        'tokens/month': String(p.tokensPerMonth),
        members: p.maxMembers === null ? 'unlimited' : String(p.maxMembers),
        budgets: p.budgets ? 'yes' : 'no',
        boosts: p.quotaBoosts ? 'yes' : 'no',
      })),
      ['plan', 'name', 'tokens/month', 'members', 'budgets', 'boosts'],
    ),
  );
  out('');
  out(
    table(
      Object.entries(catalog.moduleCosts).map(([module, tokens]) => ({
        module,
        'tokens/scan': String(tokens),
      })),
      ['module', 'tokens/scan'],
    ),
  );
}

/** The most one module may cost (a scan of every module stays far inside an integer). */
const MAX_MODULE_COST = 1_000_000;

export async function runOperatorSetModuleCost(
  config: Config,
  module: string,
  tokens: string,
  options: { reason?: string },
): Promise<void> {
  const reason = requireReason(options.reason);
  const { SCAN_MODULES } = await import('../server/modules/quota/index.ts');
  if (!(SCAN_MODULES as readonly string[]).includes(module)) {
    throw new UsageError(`unknown module "${module}": the modules are ${SCAN_MODULES.join(', ')}`);
  }
  if (!/^[0-9]{1,7}$/.test(tokens) || Number(tokens) > MAX_MODULE_COST) {
    throw new UsageError(`<tokens> must be a whole number from 0 to ${MAX_MODULE_COST}`);
  }
  const cost = Number(tokens);
  const { changeModuleCost } = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    const result = await s.run(changeModuleCost, { module, tokens: cost, reason });
    out(
      result.changed
        ? `a ${module} scan now costs ${cost} token${cost === 1 ? '' : 's'}`
        : `a ${module} scan already costs ${cost}; nothing changed`,
    );
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The longest error shown per job in the table (`--json` has it whole). */
const ERROR_SHOWN = 100;

export async function runOutboxList(
  config: Config,
  options: { dead?: boolean; state?: string; kind?: string; limit?: string; json?: boolean },
): Promise<void> {
  const { JOB_STATES, listJobs } = await import('../server/modules/operator/index.ts');
  const state = options.dead ? 'dead' : options.state;
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`unknown state "${state}": the states are ${JOB_STATES.join(', ')}`);
  }
  const limitText = options.limit ?? '100';
  if (!/^[0-9]{1,5}$/.test(limitText) || Number(limitText) < 1) {
    throw new UsageError('--limit must be a whole number from 1 to 99999');
  }
  const jobs = await withOperator(config, false, (s) =>
    s.read((db) =>
      listJobs(db, {
        ...(state ? { state: state as (typeof JOB_STATES)[number] } : {}),
        ...(options.kind ? { kind: options.kind } : {}),
        limit: Number(limitText),
      }),
    ),
  );
  if (options.json) {
    out(
      JSON.stringify(
        jobs.map((j) => ({
          ...j,
          runAt: j.runAt.toISOString(),
          createdAt: j.createdAt.toISOString(),
          finishedAt: j.finishedAt?.toISOString() ?? null,
        })),
      ),
    );
    return;
  }
  if (jobs.length === 0) {
    out(state ? `no ${state} jobs` : 'no jobs');
    return;
  }
  out(
    table(
      jobs.map((j) => ({
        id: j.id,
        kind: j.kind,
        state: j.state,
        attempts: String(j.attempts),
        org: j.orgId ?? '-',
        when: (j.finishedAt ?? j.createdAt).toISOString(),
        'last error':
          j.lastError === null
            ? '-'
            : shown(
                j.lastError.length > ERROR_SHOWN
                  ? `${j.lastError.slice(0, ERROR_SHOWN - 3)}...`
                  : j.lastError,
              ),
      })),
      ['id', 'kind', 'state', 'attempts', 'org', 'when', 'last error'],
    ),
  );
}

export async function runOutboxRetry(
  config: Config,
  id: string,
  options: { reason?: string },
): Promise<void> {
  const reason = requireReason(options.reason);
  if (!UUID.test(id))
    throw new UsageError(`"${id}" is not a job id (a UUID, as \`gatehouse outbox list\` shows)`);
  const { retryOutboxJob } = await import('../server/modules/operator/index.ts');
  await withOperator(config, true, async (s) => {
    const job = await s.run(retryOutboxJob, { id: id.toLowerCase(), reason });
    out(
      `${job.kind} job ${job.id} is due again (attempt ${job.attempts + 1}); ` +
        (config.databaseUrl ? 'the running servers take it up now' : 'the server takes it up when it starts'),
    );
  });
}
