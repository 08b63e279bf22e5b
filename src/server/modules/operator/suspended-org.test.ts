import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp, uniqueEmail } from '../../../../test/support/app.ts';
import {
  addMember,
  as,
  createOrg,
  expectStatus,
  INVITATION_LINK,
  orgState,
  tokenFromMail,
} from '../../../../test/support/orgs.ts';
import { suspendOrganization, unsuspendOrganization } from './index.ts';

/**
 * A suspended organization changes through none of the routes outside /api/v1/orgs/{orgId}
 * either: accepting an invitation, asking to join through its share link, leaving it, or making
 * a personal token for it (each names the organization by a token or an id in the body or path).
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const asOperator = {
  actor: { type: 'operator' as const },
  meta: { ip: null, userAgent: null, requestId: null },
};

describe('a suspended organization, from outside its org-scoped routes', () => {
  it('refuses invitation acceptance, join requests, leaving and personal tokens with 403 org_suspended; nothing changes', async () => {
    const org = await createOrg(t.app, { name: 'Frozen Co' });
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const inviteeEmail = uniqueEmail('invitee');
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [inviteeEmail],
        role: 'viewer',
      }),
      201,
    );
    const inviteToken = tokenFromMail((await t.mail.latestTo(inviteeEmail, 0, INVITATION_LINK)).text);
    const { token: joinToken } = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
      201,
    ).json();
    const invitee = await signUp(t.app, { email: inviteeEmail, name: 'Ivy Invitee' });
    const joiner = await signUp(t.app, { email: uniqueEmail('joiner'), name: 'Jo Joiner' });
    const state = await orgState(t.app, org.owner, org.orgId);

    await t.app.gatehouse.commands.run(suspendOrganization, asOperator, {
      slug: org.slug,
      reason: 'abuse report',
    });

    const answers = [
      await as(t.app, invitee).post('/api/v1/invitations/accept', { token: inviteToken }),
      await as(t.app, joiner).post('/api/v1/join-requests', { token: joinToken }),
      await as(t.app, admin).delete(`/api/v1/me/memberships/${org.orgId}`),
      await as(t.app, admin).post('/api/v1/me/tokens', { name: 'ci', orgId: org.orgId, scopes: ['read'] }),
    ];
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('org_suspended');
    }
    expect((await as(t.app, admin).get('/api/v1/me/tokens')).json().items ?? []).toEqual([]);

    await t.app.gatehouse.commands.run(unsuspendOrganization, asOperator, {
      slug: org.slug,
      reason: 'resolved',
    });
    expect(await orgState(t.app, org.owner, org.orgId)).toEqual(state);
    // Lifted: the same invitation and link work again.
    expectStatus(await as(t.app, invitee).post('/api/v1/invitations/accept', { token: inviteToken }), 200);
    expectStatus(await as(t.app, joiner).post('/api/v1/join-requests', { token: joinToken }), 202);
  });

  it('a non-member with neither invitation nor link still learns nothing (404)', async () => {
    const org = await createOrg(t.app, { name: 'Hidden Co' });
    const stranger = await signUp(t.app, { email: uniqueEmail('stranger'), name: 'S' });
    await t.app.gatehouse.commands.run(suspendOrganization, asOperator, { slug: org.slug, reason: 'x' });
    for (const res of [
      await as(t.app, stranger).get(`/api/v1/orgs/${org.orgId}`),
      await as(t.app, stranger).delete(`/api/v1/me/memberships/${org.orgId}`),
      await as(t.app, stranger).post('/api/v1/me/tokens', { name: 'ci', orgId: org.orgId, scopes: ['read'] }),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
    }
  });
});
