import { describe, expect, it } from 'vitest';
import { type AuditEntry, entryHash } from '../../platform/audit/entry.ts';
import { ocsfClassOf, toOcsf } from './audit-log.ocsf.ts';

const ORG = '0190a0b0-0000-7000-8000-00000000000a';
const USER = '0190a0b0-0000-7000-8000-00000000000b';
const OTHER = '0190a0b0-0000-7000-8000-00000000000c';

function entry(fields: Partial<AuditEntry> & Pick<AuditEntry, 'action'>): AuditEntry {
  const base = {
    id: '0190a0b0-0000-7000-8000-000000000001',
    orgId: ORG,
    seq: 7,
    occurredAt: '2026-03-04T05:06:07.089Z',
    actor: { type: 'user' as const, id: USER, email: 'ada@example.com' },
    target: { type: 'member', id: OTHER, name: 'Grace', email: 'grace@example.com' },
    before: null,
    after: null,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    requestId: 'req-1',
    prevHash: 'a'.repeat(64),
    ...fields,
  };
  return { ...base, hash: entryHash(base as AuditEntry) } as AuditEntry;
}

describe('toOcsf', () => {
  it('maps the fields every class shares: ids, time, severity, actor, source, metadata, unmapped', () => {
    const e = entry({
      action: 'application.updated',
      target: { type: 'application', id: 'app-1', name: 'Web' },
    });
    const event = toOcsf(e);
    expect(event).toMatchObject({
      category_uid: 6,
      class_uid: 6003,
      class_name: 'API Activity',
      activity_id: 3,
      activity_name: 'Update',
      type_uid: 600303,
      type_name: 'API Activity: Update',
      severity_id: 1,
      severity: 'Informational',
      status_id: 1,
      status: 'Success',
      time: Date.parse('2026-03-04T05:06:07.089Z'),
      actor: { user: { uid: USER, email_addr: 'ada@example.com', type_id: 1, type: 'User' } },
      src_endpoint: { ip: '203.0.113.7' },
      http_request: { user_agent: 'Mozilla/5.0', uid: 'req-1' },
      metadata: {
        version: '1.3.0',
        product: { name: 'Gatehouse', vendor_name: 'Gatehouse' },
        uid: e.id,
        event_code: 'application.updated',
        sequence: 7,
        original_time: e.occurredAt,
        tenant_uid: ORG,
        correlation_uid: 'req-1',
      },
      api: { operation: 'application.updated', service: { name: 'Gatehouse' }, request: { uid: 'req-1' } },
      resources: [{ uid: 'app-1', type: 'application', name: 'Web' }],
    });
    // Nothing of the entry is lost: it is there as hashed, and hashes to its hash again.
    const unmapped = JSON.parse(JSON.stringify(event)).unmapped;
    expect(unmapped).toEqual(e);
    expect(entryHash(unmapped)).toBe(e.hash);
  });

  it.each([
    ['user.signed_in', 3002, 1, 'Authentication: Logon'],
    ['session.ended', 3002, 2, 'Authentication: Logoff'],
    ['session.revoked', 3002, 2, 'Authentication: Logoff'],
    ['user.created', 3001, 1, 'Account Change: Create'],
    ['user.password_changed', 3001, 3, 'Account Change: Password Change'],
    ['user.password_reset', 3001, 4, 'Account Change: Password Reset'],
    ['user.disabled', 3001, 5, 'Account Change: Disable'],
    ['user.enabled', 3001, 2, 'Account Change: Enable'],
    ['user.deleted', 3001, 6, 'Account Change: Delete'],
    ['user.2fa_enabled', 3001, 10, 'Account Change: MFA Factor Enable'],
    ['user.passkey_removed', 3001, 11, 'Account Change: MFA Factor Disable'],
    ['user.email_changed', 3001, 99, 'Account Change: Other'],
    ['member.added', 3006, 3, 'Group Management: Add User'],
    ['invite.accepted', 3006, 3, 'Group Management: Add User'],
    ['member.removed', 3006, 4, 'Group Management: Remove User'],
    ['member.left', 3006, 4, 'Group Management: Remove User'],
    ['member.role_changed', 3006, 1, 'Group Management: Assign Privileges'],
    ['member.provisioned', 3006, 3, 'Group Management: Add User'],
    ['member.signed_in', 3002, 1, 'Authentication: Logon'],
    ['sso.updated', 6003, 3, 'API Activity: Update'],
    ['sso.oidc_updated', 6003, 3, 'API Activity: Update'],
    ['sso.saml_updated', 6003, 3, 'API Activity: Update'],
    ['sso.group_mapping_created', 6003, 1, 'API Activity: Create'],
    ['sso.group_mapping_deleted', 6003, 4, 'API Activity: Delete'],
    ['role.created', 6003, 1, 'API Activity: Create'],
    ['member.invited', 6003, 1, 'API Activity: Create'],
    ['audit.exported', 6003, 2, 'API Activity: Read'],
    ['token.revoked', 6003, 4, 'API Activity: Delete'],
    ['invite.cancelled', 6003, 4, 'API Activity: Delete'],
    ['org.updated', 6003, 3, 'API Activity: Update'],
    ['join_link.rotated', 6003, 3, 'API Activity: Update'],
    ['quota.threshold_reached', 6003, 99, 'API Activity: Other'],
    ['access.denied', 6003, 99, 'API Activity: Other'],
  ])('maps %s to class %i activity %i', (action, classUid, activityId, typeName) => {
    expect(ocsfClassOf(action)).toEqual({ classUid, activityId });
    const event = toOcsf(entry({ action }));
    expect(event).toMatchObject({ class_uid: classUid, activity_id: activityId, type_name: typeName });
    expect(event.type_uid).toBe(classUid * 100 + activityId);
    expect(event.category_uid).toBe(Math.floor(classUid / 1000));
  });

  it('gives each class what OCSF requires of it', () => {
    const signIn = toOcsf(
      entry({
        action: 'user.signed_in',
        orgId: undefined,
        userId: USER,
        target: { type: 'user', id: USER, name: 'Ada', email: 'ada@example.com' },
      }),
    );
    expect(signIn).toMatchObject({
      user: { uid: USER, name: 'Ada', email_addr: 'ada@example.com' },
      service: { name: 'Gatehouse' },
    });
    expect((signIn.metadata as Record<string, unknown>).tenant_uid).toBeUndefined();

    const password = toOcsf(
      entry({
        action: 'user.password_changed',
        target: { type: 'user', id: USER, email: 'ada@example.com' },
      }),
    );
    expect(password.user).toEqual({ uid: USER, email_addr: 'ada@example.com' });

    const role = toOcsf(
      entry({
        action: 'member.role_changed',
        before: { role: 'developer', roleName: 'Developer' },
        after: { role: 'admin', roleName: 'Admin' },
      }),
    );
    expect(role).toMatchObject({
      group: { uid: ORG, type: 'Organization' },
      user: { uid: OTHER, name: 'Grace', email_addr: 'grace@example.com' },
      privileges: ['Admin'],
      severity_id: 2,
    });
    const removed = toOcsf(entry({ action: 'member.removed' }));
    expect(removed.privileges).toBeUndefined();
    expect(removed.user).toMatchObject({ uid: OTHER });
  });

  it('marks refusals as failed, at Medium severity; weakened protection Medium; power changes Low', () => {
    const denied = toOcsf(entry({ action: 'access.denied', after: { asked: 'members:manage' } }));
    expect(denied).toMatchObject({ status_id: 2, status: 'Failure', severity_id: 3, severity: 'Medium' });
    expect(toOcsf(entry({ action: 'user.2fa_disabled' })).severity_id).toBe(3);
    expect(toOcsf(entry({ action: 'member.break_glass' })).severity_id).toBe(3);
    expect(toOcsf(entry({ action: 'ownership.transferred' })).severity_id).toBe(2);
    expect(toOcsf(entry({ action: 'sso.updated' })).severity_id).toBe(2);
    expect(toOcsf(entry({ action: 'sso.saml_updated' })).severity_id).toBe(2);
    expect(toOcsf(entry({ action: 'org.updated' })).severity_id).toBe(1);
  });

  it('names every kind of actor, and the personal token a user acted through', () => {
    const actors = {
      token: { type: 'token' as const, id: 'tok-1', email: null },
      system: { type: 'system' as const, id: null, email: null },
      operator: { type: 'operator' as const, id: null, email: null },
      anonymous: { type: 'anonymous' as const, id: null, email: null },
      personal: { type: 'user' as const, id: USER, email: 'ada@example.com', tokenId: 'tok-2' },
    };
    const of = (a: AuditEntry['actor']) => toOcsf(entry({ action: 'org.updated', actor: a })).actor;
    expect(of(actors.token)).toEqual({ user: { uid: 'tok-1', type_id: 99, type: 'Automation token' } });
    expect(of(actors.system)).toMatchObject({ user: { type_id: 3, type: 'System' } });
    expect(of(actors.operator)).toEqual({ user: { name: 'operator', type_id: 2, type: 'Admin' } });
    expect(of(actors.anonymous)).toEqual({ user: { type_id: 0, type: 'Unknown' } });
    expect(of(actors.personal)).toEqual({
      user: { uid: USER, email_addr: 'ada@example.com', type_id: 1, type: 'User' },
      session: { credential_uid: 'tok-2' },
    });
  });

  it('gives API Activity a source even without a client address, and leaves unknowns out', () => {
    const event = toOcsf(
      entry({
        action: 'audit.pruned',
        actor: { type: 'system', id: null, email: null },
        ip: null,
        userAgent: null,
        requestId: null,
      }),
    );
    expect(event.src_endpoint).toEqual({ name: 'Gatehouse' });
    expect(event.http_request).toBeUndefined();
    const { unmapped: _entry, ...mapped } = event;
    expect(JSON.stringify(mapped)).not.toContain('null');
    const logoff = toOcsf(
      entry({ action: 'session.ended', ip: null, target: { type: 'session', id: 's-1' } }),
    );
    expect(logoff.src_endpoint).toBeUndefined();
    expect(logoff.user).toMatchObject({ uid: USER, email_addr: 'ada@example.com' });
  });
});
