import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/app.ts';
import { defineCommand, type Invocation, listCommands } from './command.ts';
import { ConflictError } from './errors/app-error.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.db.database.db.execute(sql`CREATE TABLE command_probe (id int PRIMARY KEY, note text)`);
});
afterAll(async () => {
  await t?.close();
});

const invocation: Invocation = {
  actor: { type: 'system' },
  meta: { ip: null, userAgent: null, requestId: null },
};
const rows = async () =>
  (
    (await t.db.database.db.execute(sql`SELECT id FROM command_probe ORDER BY id`)) as unknown as {
      rows: { id: number }[];
    }
  ).rows.map((r) => r.id);

const audited = async (action: string) =>
  (
    (await t.db.database.db.execute(
      sql`SELECT target_id, after FROM audit_events WHERE action = ${action} ORDER BY seq`,
    )) as unknown as { rows: { target_id: string; after: unknown }[] }
  ).rows;

describe('defineCommand runner', () => {
  it('commits the change with its audit entry, exactly one record, and runs after-commit steps', async () => {
    const seen: string[] = [];
    const insert = defineCommand({
      action: 'probe.created',
      async run(ctx, id: number) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (${id})`);
        ctx.afterCommit(() => {
          seen.push('after-commit');
        });
        ctx.record({ target: { type: 'probe', id: String(id) }, after: { id } });
        return id;
      },
    });
    expect(await t.app.gatehouse.commands.run(insert, invocation, 1)).toBe(1);
    expect(await rows()).toContain(1);
    expect(seen).toEqual(['after-commit']);
    expect(await audited('probe.created')).toEqual([{ target_id: '1', after: { id: 1 } }]);
    expect(listCommands()).toContain(insert);
  });

  it('rolls everything back when the command throws, and runs no after-commit step', async () => {
    let after = false;
    const failing = defineCommand({
      action: 'probe.failed',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (2)`);
        ctx.afterCommit(() => {
          after = true;
        });
        throw new ConflictError('no');
      },
    });
    await expect(t.app.gatehouse.commands.run(failing, invocation, undefined)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await rows()).not.toContain(2);
    expect(await audited('probe.failed')).toEqual([]);
    expect(after).toBe(false);
  });

  it('refuses to commit a command that records no change, or two', async () => {
    const silent = defineCommand({
      action: 'probe.silent',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (3)`);
      },
    });
    await expect(t.app.gatehouse.commands.run(silent, invocation, undefined)).rejects.toThrow(
      /recorded 0 changes/,
    );
    const twice = defineCommand({
      action: 'probe.twice',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (4)`);
        ctx.record({ target: { type: 'probe', id: '4' } });
        ctx.record({ target: { type: 'probe', id: '4' } });
      },
    });
    await expect(t.app.gatehouse.commands.run(twice, invocation, undefined)).rejects.toThrow(
      /recorded 2 changes/,
    );
    expect(await rows()).not.toContain(3);
    expect(await rows()).not.toContain(4);
  });

  it('records nothing for a command that declares it changed nothing, and refuses a record beside it', async () => {
    const noop = defineCommand({
      action: 'probe.noop',
      async run(ctx) {
        ctx.unchanged();
        return 'as is';
      },
    });
    expect(await t.app.gatehouse.commands.run(noop, invocation, undefined)).toBe('as is');
    expect(await audited('probe.noop')).toEqual([]);
    const both = defineCommand({
      action: 'probe.both',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (5)`);
        ctx.unchanged();
        ctx.record({ target: { type: 'probe', id: '5' } });
      },
    });
    await expect(t.app.gatehouse.commands.run(both, invocation, undefined)).rejects.toThrow(
      /declared no change yet recorded 1/,
    );
    expect(await rows()).not.toContain(5);
    expect(await audited('probe.both')).toEqual([]);
  });

  it('writes the further records a command declares (alsoRecords) beside its own one, and no others', async () => {
    const spread = defineCommand({
      action: 'probe.spread',
      alsoRecords: ['probe.noted'],
      async run(ctx, input: { id: number; notes: number; own: number; stray?: string }) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (${input.id})`);
        for (let i = 0; i < input.notes; i++) {
          ctx.record({ action: 'probe.noted', target: { type: 'probe', id: `${input.id}-${i}` } });
        }
        for (let i = 0; i < input.own; i++) ctx.record({ target: { type: 'probe', id: String(input.id) } });
        if (input.stray) ctx.record({ action: input.stray, target: { type: 'probe', id: 'stray' } });
      },
    });
    const run = (input: Parameters<typeof spread.run>[1]) =>
      t.app.gatehouse.commands.run(spread, invocation, input);
    await run({ id: 30, notes: 2, own: 1 });
    expect((await audited('probe.spread')).map((r) => r.target_id)).toEqual(['30']);
    expect((await audited('probe.noted')).map((r) => r.target_id)).toEqual(['30-0', '30-1']);
    // Its own record is still required exactly once; an undeclared action is refused.
    await expect(run({ id: 31, notes: 1, own: 0 })).rejects.toThrow(/recorded 0 changes/);
    await expect(run({ id: 32, notes: 0, own: 2 })).rejects.toThrow(/recorded 2 changes/);
    await expect(run({ id: 33, notes: 0, own: 1, stray: 'probe.other' })).rejects.toThrow(/does not declare/);
    expect((await rows()).filter((id) => id >= 31 && id <= 33)).toEqual([]);
    expect(await audited('probe.noted')).toHaveLength(2);
  });

  it('turns a unique violation into a 409 conflict, not a 500', async () => {
    await t.db.database.db.execute(sql`INSERT INTO command_probe (id) VALUES (10)`);
    const duplicate = defineCommand({
      action: 'probe.duplicated',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (10)`);
        ctx.record({ target: { type: 'probe', id: '10' } });
      },
    });
    await expect(t.app.gatehouse.commands.run(duplicate, invocation, undefined)).rejects.toMatchObject({
      status: 409,
      code: 'conflict',
    });
  });

  it("answers a violation of a constraint the command declares with the command's own error", async () => {
    await t.db.database.db.execute(sql`INSERT INTO command_probe (id) VALUES (11)`);
    const declared = defineCommand({
      action: 'probe.declared',
      constraints: { command_probe_pkey: () => new ConflictError('That probe exists.', 'slug_taken') },
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (11)`);
        ctx.record({ target: { type: 'probe', id: '11' } });
      },
    });
    await expect(t.app.gatehouse.commands.run(declared, invocation, undefined)).rejects.toMatchObject({
      status: 409,
      code: 'slug_taken',
      message: 'That probe exists.',
    });
    // Another command's declaration means nothing here: the generic conflict.
    const undeclared = defineCommand({
      action: 'probe.undeclared',
      constraints: { some_other_key: () => new ConflictError('never', 'slug_taken') },
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (11)`);
        ctx.record({ target: { type: 'probe', id: '11' } });
      },
    });
    await expect(t.app.gatehouse.commands.run(undeclared, invocation, undefined)).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('checks an org permission before opening a transaction', async () => {
    const guarded = defineCommand({
      action: 'probe.guarded',
      permission: 'members:manage',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (5)`);
        ctx.record({ target: { type: 'probe', id: '5' } });
      },
    });
    const viewer: Invocation = {
      ...invocation,
      access: {
        orgId: '00000000-0000-4000-8000-000000000000',
        orgName: 'Probe',
        userId: '00000000-0000-4000-8000-000000000001',
        plan: 'free',
        roleId: '00000000-0000-4000-8000-000000000002',
        roleSlug: 'viewer',
        permissions: new Set(['members:read']),
      },
    };
    await expect(t.app.gatehouse.commands.run(guarded, viewer, undefined)).rejects.toMatchObject({
      status: 403,
      code: 'permission_denied',
    });
    expect(await rows()).not.toContain(5);
  });

  it('refuses to run a command whose permission is not the one its route declares', async () => {
    const guarded = defineCommand({
      action: 'probe.route_checked',
      permission: 'members:manage',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (6)`);
        ctx.record({ target: { type: 'probe', id: '6' } });
      },
    });
    const route = 'POST /api/v1/orgs/:orgId/probe';
    await expect(
      t.app.gatehouse.commands.run(
        guarded,
        { ...invocation, route, routePermission: 'members:read' },
        undefined,
      ),
    ).rejects.toThrow(
      `${route} declares "members:read" but runs probe.route_checked, which requires "members:manage"`,
    );
    const unguarded = defineCommand({
      action: 'probe.route_unguarded',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (6)`);
        ctx.record({ target: { type: 'probe', id: '6' } });
      },
    });
    await expect(
      t.app.gatehouse.commands.run(
        unguarded,
        { ...invocation, route, routePermission: 'members:manage' },
        undefined,
      ),
    ).rejects.toThrow(/requires no permission/);
    expect(await rows()).not.toContain(6);
    // The same permission on both sides: the command runs (and is refused here for lack of access).
    await expect(
      t.app.gatehouse.commands.run(
        guarded,
        { ...invocation, route, routePermission: 'members:manage' },
        undefined,
      ),
    ).rejects.toMatchObject({ code: 'permission_denied' });
  });

  it('refuses to run, for a request, a command its route does not declare', async () => {
    const declared = defineCommand({
      action: 'probe.declared',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (7)`);
        ctx.record({ target: { type: 'probe', id: '7' } });
      },
    });
    const other = defineCommand({
      action: 'probe.undeclared',
      async run(ctx) {
        await ctx.tx.execute(sql`INSERT INTO command_probe (id) VALUES (8)`);
        ctx.record({ target: { type: 'probe', id: '8' } });
      },
    });
    const route = 'POST /api/v1/me/probe';
    await expect(
      t.app.gatehouse.commands.run(other, { ...invocation, route, routeCommands: [declared] }, undefined),
    ).rejects.toThrow(`${route} runs probe.undeclared, which it does not declare in config.command`);
    // A route that declares none (a read) runs none.
    await expect(
      t.app.gatehouse.commands.run(declared, { ...invocation, route, routeCommands: [] }, undefined),
    ).rejects.toThrow(/runs probe\.declared, which it does not declare/);
    expect(await rows()).not.toContain(8);
    expect(await rows()).not.toContain(7);
    await t.app.gatehouse.commands.run(
      declared,
      { ...invocation, route, routeCommands: [declared] },
      undefined,
    );
    expect(await rows()).toContain(7);
  });
});
