import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, requestToJoin } from '../../../../test/support/orgs.ts';
import { invitations } from '../../platform/db/schema.ts';

const LIMITS = { maxPerOrgPerHour: 6, maxResendsPerDay: 2 };

type Org = Awaited<ReturnType<typeof createOrg>>;

const invitationsUrl = (org: Org) => `/api/v1/orgs/${org.orgId}/invitations`;
const emails = (n: number) => Array.from({ length: n }, () => uniqueEmail('invitee'));

function expectRateLimited(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toMatchObject({ code: 'rate_limited' });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  return { retryAfter, detail: (res.json() as { detail: string }).detail };
}

describe('invitation email limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ invitations: LIMITS });
  });
  afterAll(async () => {
    await t?.close();
  });

  const invite = (org: Org, list: string[]) =>
    as(t.app, org.owner).post(invitationsUrl(org), { emails: list, role: 'developer' });
  const invitationCount = async (org: Org) =>
    (await t.db.database.db.select().from(invitations).where(eq(invitations.orgId, org.orgId))).length;

  it('an organization sends at most so many invitation emails an hour: 429 with Retry-After, nothing sent', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const first = expectStatus(await invite(org, emails(4)), 201).json().items;
    // A resend is an email like any other.
    expectStatus(await as(t.app, org.owner).post(`${invitationsUrl(org)}/${first[0].id}/resend`), 200);
    const refusedEmails = emails(2);
    const refused = expectRateLimited(await invite(org, refusedEmails));
    expect(refused.retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.detail).toContain('6 invitation emails an hour');
    expect(await invitationCount(org)).toBe(4);
    expectStatus(await invite(org, emails(1)), 201);
    expectRateLimited(await invite(org, emails(1)));
    expectRateLimited(await as(t.app, org.owner).post(`${invitationsUrl(org)}/${first[1].id}/resend`));
    expect(await invitationCount(org)).toBe(5);
    // More at once than an hour allows could never go out: refused outright, not to be retried.
    const tooMany = expectStatus(await invite(await createOrg(t.app, { plan: 'pro' }), emails(7)), 400);
    expect(tooMany.headers['retry-after']).toBeUndefined();
    expect(tooMany.json().errors).toEqual([
      expect.objectContaining({ field: '/body/emails', reason: 'maxItems', params: { limit: 6 } }),
    ]);
    // Another organization has its own budget.
    expectStatus(await invite(await createOrg(t.app, { plan: 'pro' }), emails(6)), 201);
    const stray = t.mail.messages.filter((m) => refusedEmails.some((e) => m.to.includes(e.toLowerCase())));
    expect(stray).toEqual([]);
  });

  it('one invitation is sent again at most so many times a day, however it is asked for', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const email = uniqueEmail('target');
    const [item] = expectStatus(await invite(org, [email]), 201).json().items;
    const resend = () => as(t.app, org.owner).post(`${invitationsUrl(org)}/${item.id}/resend`);
    expectStatus(await resend(), 200);
    // Inviting the pending address again sends it again too.
    expectStatus(await invite(org, [email]), 201);
    const { retryAfter, detail } = expectRateLimited(await resend());
    expect(retryAfter).toBeGreaterThan(3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(detail).toContain('2 times a day');
    expectRateLimited(await invite(org, [email]));
    // The emails go out through the outbox: count them once it has sent what is due.
    await t.drainOutbox();
    expect(t.mail.messages.filter((m) => m.to.includes(email.toLowerCase()))).toHaveLength(3);
    // Other invitations of the org are not held back.
    expectStatus(await invite(org, emails(1)), 201);
  });

  it('an address’s budget outlives its invitation: cancelling and inviting again does not renew it', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const url = invitationsUrl(org);
    const owner = as(t.app, org.owner);
    const sentTo = (email: string) =>
      t.mail.messages.filter((m) => m.to.includes(email.toLowerCase())).length;

    // Resent to the limit, cancelled, invited again: refused, and nothing goes out.
    const spent = uniqueEmail('spent');
    const [first] = expectStatus(await invite(org, [spent]), 201).json().items;
    for (let i = 0; i < LIMITS.maxResendsPerDay; i++)
      expectStatus(await owner.post(`${url}/${first.id}/resend`), 200);
    expectStatus(await owner.delete(`${url}/${first.id}`), 204);
    const refused = expectRateLimited(await invite(org, [spent]));
    expect(refused.detail).toContain('2 times a day');
    expect(refused.retryAfter).toBeLessThanOrEqual(24 * 3600);
    // Nor does a list that holds it send to the others.
    const bystander = uniqueEmail('bystander');
    expectRateLimited(await invite(org, [bystander, spent]));
    await t.drainOutbox();
    expect(sentTo(spent)).toBe(1 + LIMITS.maxResendsPerDay);
    expect(sentTo(bystander)).toBe(0);
    // Other addresses of the org are not held back.
    expectStatus(await invite(org, [bystander]), 201);

    // With one resend left (in another org, within its hourly budget): the new invitation takes
    // it, and its own resend is refused.
    const other = await createOrg(t.app, { plan: 'pro' });
    const otherUrl = invitationsUrl(other);
    const left = uniqueEmail('left');
    const [before] = expectStatus(await invite(other, [left]), 201).json().items;
    for (let i = 0; i < LIMITS.maxResendsPerDay - 1; i++) {
      expectStatus(await as(t.app, other.owner).post(`${otherUrl}/${before.id}/resend`), 200);
    }
    expectStatus(await as(t.app, other.owner).delete(`${otherUrl}/${before.id}`), 204);
    const [again] = expectStatus(await invite(other, [left]), 201).json().items;
    expect(again.id).not.toBe(before.id);
    expectRateLimited(await as(t.app, other.owner).post(`${otherUrl}/${again.id}/resend`));
    await t.drainOutbox();
    expect(sentTo(left)).toBe(1 + LIMITS.maxResendsPerDay);
    // Another organization has its own budget for the same address.
    expectStatus(await invite(other, [spent]), 201);
  });
});

describe('names in emails are untrusted text', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const EVIL_ORG = 'Reset your password at http://evil.example/reset now';
  const EVIL_PERSON = 'Support: visit www.evil.example';

  it('never carries an attacker-written name in a subject as-is, nor as a link in a body', async () => {
    const owner = await signUp(t.app, { email: uniqueEmail('owner'), name: EVIL_PERSON });
    const org = await createOrg(t.app, { name: EVIL_ORG, plan: 'pro' }, owner);
    const since = t.mail.messages.length;
    const invitee = uniqueEmail('victim');
    expectStatus(
      await as(t.app, owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [invitee],
        role: 'viewer',
      }),
      201,
    );
    const invitation = await t.mail.latestTo(invitee);
    expect(invitation.subject).toBe('You are invited to an organization on Gatehouse');
    expect(invitation.text).toContain(
      '"Support: visit www[.]evil[.]example" invited you to join the organization "Reset your password at hxxp[:]//evil[.]example/reset now"',
    );
    // Role change, promotion alert, ownership transfer, join request and approval.
    const member = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(
      await as(t.app, owner).patch(`/api/v1/orgs/${org.orgId}/members/${member.userId}`, { role: 'admin' }),
      200,
    );
    await t.mail.latestTo(member.email, since, /role/);
    const joiner = await requestToJoin(t.app, org);
    expectStatus(
      await as(t.app, owner).post(`/api/v1/orgs/${org.orgId}/join-requests/${joiner.id}/approve`, {
        role: 'viewer',
      }),
      200,
    );
    await t.mail.latestTo(joiner.person.email, since, /joined/);
    expectStatus(
      await as(t.app, owner).post(`/api/v1/orgs/${org.orgId}/ownership-transfer`, { userId: member.userId }),
      200,
    );
    await t.mail.latestTo(member.email, since, /owner of/);
    const sent = t.mail.messages.slice(since);
    const kinds = [/invited/, /role in/, /is now "Admin" of/, /asks to join/, /You joined/, /owner of/];
    for (const kind of kinds)
      expect(
        sent.some((m) => kind.test(m.subject)),
        String(kind),
      ).toBe(true);
    for (const m of sent) {
      for (const part of [m.subject, m.text]) {
        expect(part).not.toMatch(/https?:\/\/evil|evil\.example|www\.evil/i);
      }
      expect(m.subject).not.toContain(EVIL_ORG);
    }
  });
});

/**
 * The limits are counted in the database under the organization's lock: concurrent requests on
 * two instances never send more than the limit between them.
 */
describe.skipIf(!onPostgres)('invitation email limits under concurrency (PostgreSQL)', () => {
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    one = await createTestApp({ invitations: { maxPerOrgPerHour: 10, maxResendsPerDay: 3 } });
    two = await createTestApp({ invitations: { maxPerOrgPerHour: 10, maxResendsPerDay: 3 } }, one.db);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('of 40 simultaneous invitations on two instances, exactly the hourly limit go out', async () => {
    const org = await createOrg(one.app, { plan: 'pro' });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        as(i % 2 ? one.app : two.app, org.owner).post(invitationsUrl(org), {
          emails: [uniqueEmail('burst')],
          role: 'viewer',
        }),
      ),
    );
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(10);
    expect(codes.filter((c) => c === 429)).toHaveLength(30);
    const rows = await one.db.database.db.select().from(invitations).where(eq(invitations.orgId, org.orgId));
    expect(rows).toHaveLength(10);
  });

  it('of 20 simultaneous resends of one invitation, exactly the daily limit go out', async () => {
    const org = await createOrg(one.app, { plan: 'pro' });
    const [item] = expectStatus(
      await as(one.app, org.owner).post(invitationsUrl(org), {
        emails: [uniqueEmail('one')],
        role: 'viewer',
      }),
      201,
    ).json().items;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        as(i % 2 ? one.app : two.app, org.owner).post(`${invitationsUrl(org)}/${item.id}/resend`),
      ),
    );
    const codes = responses.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(17);
    const [row] = await one.db.database.db.select().from(invitations).where(eq(invitations.id, item.id));
    expect(row?.sendCount).toBe(4);
  });
});
