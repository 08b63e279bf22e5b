import { entitlements } from '../../../contracts/plans.ts';
import { type ComplianceFramework, FRAMEWORK_NAMES } from '../../../contracts/reports.ts';
import type { AuditEntry } from '../../platform/audit/entry.ts';
import type { AuditLog } from '../../platform/audit/log.ts';
import type { Db } from '../../platform/db/client.ts';
import { renderPdf } from '../../platform/pdf/pdf.ts';
import { countOrgLiveTokens } from '../api-tokens/index.ts';
import { auditRangeFigures, findCheckpointCovering, listOrgEntriesInRange } from '../audit-log/index.ts';
import { countMembersByRole } from '../members/index.ts';
import { findDataSettings, findSecurity } from '../organizations/index.ts';
import { listRoles } from '../roles/index.ts';
import { ssoCoverage } from '../sso/index.ts';
import { controlsLine } from './reports.controls.ts';
import { type Period, percent, stamp, whoActed, whom } from './reports.words.ts';

/** Entries that grant, change or take away someone's access: the provisioning records. */
export const PROVISIONING_ACTIONS = [
  'org.created',
  'invite.accepted',
  'join_request.approved',
  'member.provisioned',
  'member.reactivated',
  'member.role_changed',
  'ownership.transferred',
  'member.deactivated',
  'member.deprovisioned',
  'member.removed',
  'member.left',
] as const;

/** Security events a report counts, and lists the first of. */
export const SECURITY_ACTIONS = [
  'access.denied',
  'token.revoked',
  'scim_token.revoked',
  'session.revoked',
  'member.break_glass',
] as const;

const PROVISIONING_WORDS: Record<string, string> = {
  'org.created': 'Organization created (owner joined)',
  'invite.accepted': 'Joined (invitation accepted)',
  'join_request.approved': 'Joined (request approved)',
  'member.provisioned': 'Provisioned (SCIM / SSO)',
  'member.reactivated': 'Reactivated',
  'member.role_changed': 'Role changed',
  'ownership.transferred': 'Ownership transferred',
  'member.deactivated': 'Deactivated (SCIM)',
  'member.deprovisioned': 'Deprovisioned (SCIM)',
  'member.removed': 'Removed',
  'member.left': 'Left',
};

const SECURITY_WORDS: Record<string, string> = {
  'token.revoked': 'API token revoked',
  'scim_token.revoked': 'SCIM token revoked',
  'session.revoked': 'Session revoked',
  'member.break_glass': 'Break-glass access used',
};

/** Rows each listing holds at most (the counts above them are always complete). */
const LIST_LIMIT = 500;

export interface ComplianceInput {
  orgId: string;
  orgName: string;
  plan: string;
  framework: ComplianceFramework;
  period: Period;
  generatedAt: Date;
  generatedBy: string;
}

export interface ComplianceSummary {
  framework: ComplianceFramework;
  members: number;
  membersWithTwoFactor: number;
  roles: { slug: string; name: string; members: number }[];
  sso: { oidc: boolean; saml: boolean; enforcement: string; linkedMembers: number };
  liveTokens: { automation: number; personal: number };
  provisioningRecords: number;
  securityEvents: Record<string, number>;
  exports: number;
  auditEntries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  chainVerified: boolean;
  checkpoint: { seq: number; hash: string; keyId: string; signedAt: string } | null;
}

/** What a provisioning record says of its change, beyond what and to whom. */
function change(entry: AuditEntry): string {
  const before = entry.before ?? {};
  const after = entry.after ?? {};
  if (typeof before.role === 'string' && typeof after.role === 'string' && before.role !== after.role)
    return `${before.role} -> ${after.role}`;
  if (typeof after.role === 'string') return `role ${after.role}`;
  if (typeof before.role === 'string') return `was ${before.role}`;
  return '';
}

/** Reads the figures and draws the compliance report; returns the PDF and its summary. */
export async function buildComplianceReport(
  db: Db,
  audit: AuditLog,
  input: ComplianceInput,
  progress: (percent: number) => Promise<void>,
): Promise<{ pdf: Buffer; summary: ComplianceSummary }> {
  const { orgId, framework, period } = input;
  const roles = await listRoles(db, orgId);
  const perRole = await countMembersByRole(db, orgId);
  const security = await findSecurity(db, orgId);
  const sso = await ssoCoverage(db, orgId, period);
  const tokens = await countOrgLiveTokens(db, orgId);
  await progress(20);

  const range = await auditRangeFigures(db, audit, orgId, period);
  const inRange = range.fromSeq !== null && range.toSeq !== null;
  const seqs = inRange ? { fromSeq: range.fromSeq!, toSeq: range.toSeq! } : undefined;
  const provisioning = seqs
    ? await listOrgEntriesInRange(db, orgId, seqs, PROVISIONING_ACTIONS, LIST_LIMIT)
    : [];
  const securityEntries = seqs
    ? await listOrgEntriesInRange(db, orgId, seqs, SECURITY_ACTIONS, LIST_LIMIT)
    : [];
  const countOf = (action: string) => range.byAction.find((a) => a.action === action)?.count ?? 0;
  const provisioningCount = PROVISIONING_ACTIONS.reduce((n, a) => n + countOf(a), 0);
  await progress(45);

  const dataSettings = await findDataSettings(db, orgId);
  const exportsMade = countOf('org.exported') + countOf('audit.exported');
  // The org's whole chain, from its anchor to its head: the range's entries are only as good as
  // the chain they sit in.
  const verification = await audit.verify(db, { kind: 'org', id: orgId });
  const checkpoint = range.toSeq !== null ? await findCheckpointCovering(db, orgId, range.toSeq) : undefined;
  await progress(70);

  const members = perRole.reduce((n, r) => n + r.members, 0);
  const withTwoFactor = perRole.reduce((n, r) => n + r.withTwoFactor, 0);
  const membersOf = new Map(perRole.map((r) => [r.roleId, r]));
  const securityEvents = Object.fromEntries(SECURITY_ACTIONS.map((a) => [a, countOf(a)]));
  const summary: ComplianceSummary = {
    framework,
    members,
    membersWithTwoFactor: withTwoFactor,
    roles: roles.map((r) => ({ slug: r.slug, name: r.name, members: membersOf.get(r.id)?.members ?? 0 })),
    sso: { oidc: sso.oidc, saml: sso.saml, enforcement: sso.enforcement, linkedMembers: sso.linkedMembers },
    liveTokens: tokens,
    provisioningRecords: provisioningCount,
    securityEvents,
    exports: exportsMade,
    auditEntries: range.entries,
    firstSeq: range.fromSeq,
    lastSeq: range.toSeq,
    chainVerified: verification.ok,
    checkpoint: checkpoint
      ? { seq: checkpoint.seq, hash: checkpoint.hash, keyId: checkpoint.keyId, signedAt: checkpoint.signedAt }
      : null,
  };

  const frameworkName = FRAMEWORK_NAMES[framework];
  const plan = entitlements(input.plan);
  const pdf = await renderPdf(
    {
      title: `${frameworkName} compliance report`,
      subject: `Compliance report (${frameworkName}) for ${input.orgName}`,
      subtitle: `${input.orgName} - ${stamp(period.from)} to ${stamp(period.to)} (UTC)`,
      footer: `${input.orgName} - ${frameworkName} - generated ${stamp(input.generatedAt)} UTC`,
      createdAt: input.generatedAt,
    },
    (doc) => {
      doc.keyValues([
        ['Organization', input.orgName],
        ['Framework', frameworkName],
        ['Period', `${stamp(period.from)} to ${stamp(period.to)} UTC (end excluded)`],
        ['Generated at', `${stamp(input.generatedAt)} UTC`],
        ['Generated by', input.generatedBy],
        ['Plan', plan.name],
      ]);
      doc.paragraph(
        'Each section states what Gatehouse records for the organization and the controls of the framework it gives evidence for. Figures about members, roles and settings are as they stand when the report was generated; records and events are those of the period.',
        { muted: true },
      );

      doc.heading('1. Access-control summary');
      doc.paragraph(controlsLine(framework, 'access_control'), { muted: true, size: 9 });
      doc.keyValues([
        ['Active members', String(members)],
        [
          'Two-factor authentication',
          `${withTwoFactor} of ${members} members (${percent(withTwoFactor, members)})`,
        ],
        ['2FA required by policy', security?.require2fa ? 'Yes' : 'No'],
        [
          'IP allowlist',
          security?.ipAllowlist?.length ? `${security.ipAllowlist.length} entries` : 'Not set',
        ],
        [
          'Single sign-on',
          sso.oidc || sso.saml
            ? `${[sso.oidc ? 'OIDC' : '', sso.saml ? 'SAML' : ''].filter(Boolean).join(' and ')} configured; enforcement: ${sso.enforcement}`
            : 'Not configured',
        ],
        [
          'Members who signed in via SSO',
          `${sso.linkedMembers} (${sso.signedInDuringPeriod} during the period)`,
        ],
        ['Live API tokens', `${tokens.automation} automation, ${tokens.personal} personal`],
      ]);
      doc.heading('Roles and their permissions', 2);
      doc.table(
        [
          { header: 'Role', width: 2.4 },
          { header: 'Members', width: 1.4, align: 'right' },
          { header: '2FA', width: 0.9, align: 'right' },
          { header: 'Permissions', width: 7 },
        ],
        roles.map((r) => {
          const m = membersOf.get(r.id);
          return [
            `${r.name} (${r.slug})${r.builtin ? '' : ', custom'}`,
            String(m?.members ?? 0),
            String(m?.withTwoFactor ?? 0),
            r.slug === 'owner' ? 'Every permission' : r.permissions.join(', ') || 'None',
          ];
        }),
      );

      doc.heading('2. Provisioning and deprovisioning records');
      doc.paragraph(controlsLine(framework, 'provisioning'), { muted: true, size: 9 });
      doc.paragraph(
        `${provisioningCount} record(s) in the period${provisioningCount > provisioning.length ? `; the first ${provisioning.length} are listed` : ''}.`,
      );
      doc.table(
        [
          { header: 'When (UTC)', width: 1.7 },
          { header: 'Seq', width: 0.7, align: 'right' },
          { header: 'Record', width: 8 },
        ],
        provisioning.map((e) => {
          const detail = change(e);
          return [
            stamp(new Date(e.occurredAt)),
            String(e.seq),
            `${PROVISIONING_WORDS[e.action] ?? e.action}: ${whom(e)}${detail ? ` (${detail})` : ''}; by ${whoActed(e)}`,
          ];
        }),
        'No access was granted, changed or removed in the period.',
      );

      doc.heading('3. Security events');
      doc.paragraph(controlsLine(framework, 'security_events'), { muted: true, size: 9 });
      doc.keyValues([
        ['Access denied', String(securityEvents['access.denied'])],
        ['API tokens revoked', String(securityEvents['token.revoked'])],
        ['SCIM tokens revoked', String(securityEvents['scim_token.revoked'])],
        ['Sessions revoked', String(securityEvents['session.revoked'])],
        ['Break-glass uses', String(securityEvents['member.break_glass'])],
      ]);
      const denied = new Map<string, number>();
      for (const e of securityEntries) {
        if (e.action !== 'access.denied') continue;
        const key = `${whoActed(e)}|${String(e.after?.permission ?? '')}|${e.target.id}`;
        denied.set(key, (denied.get(key) ?? 0) + 1);
      }
      doc.heading('Most frequent refusals', 2);
      doc.table(
        [
          { header: 'Refusal', width: 9 },
          { header: 'Times', width: 1, align: 'right' },
        ],
        [...denied.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 10)
          .map(([key, n]) => {
            const [who, permission, route] = key.split('|');
            return [`${who} lacked ${permission || 'a permission'} on ${route}`, String(n)];
          }),
        'No access was denied in the period.',
      );
      doc.heading('Revocations and break-glass', 2);
      doc.table(
        [
          { header: 'When (UTC)', width: 1.7 },
          { header: 'Seq', width: 0.7, align: 'right' },
          { header: 'Event', width: 8 },
        ],
        securityEntries
          .filter((e) => e.action !== 'access.denied')
          .map((e) => [
            stamp(new Date(e.occurredAt)),
            String(e.seq),
            `${SECURITY_WORDS[e.action] ?? e.action}: ${whom(e)}; by ${whoActed(e)}`,
          ]),
        'No token or session was revoked and break-glass was not used in the period.',
      );

      doc.heading('4. Data handling');
      doc.paragraph(controlsLine(framework, 'data_handling'), { muted: true, size: 9 });
      doc.keyValues([
        [
          'Scan result retention',
          `${dataSettings?.scanRetentionDays ?? '?'} days (older scans deleted daily)`,
        ],
        ['Audit log retention', `${plan.auditRetentionDays} days (${plan.name} plan)`],
        [
          'Secrets at rest',
          'Encrypted with AES-256-GCM (SSO client secrets, webhook secrets, integration credentials, TOTP secrets); never returned by the API',
        ],
        ['Passwords', 'Hashed with argon2id'],
        ['API tokens', 'Stored as SHA-256 hashes; shown once at creation'],
        ['Data exports in the period', String(exportsMade)],
      ]);

      doc.heading('5. Audit log excerpt');
      doc.paragraph(controlsLine(framework, 'audit_log'), { muted: true, size: 9 });
      doc.keyValues([
        ['Entries in the period', String(range.entries)],
        ['First / last sequence', inRange ? `${range.fromSeq} / ${range.toSeq}` : 'None in the period'],
        [
          'Chain verification',
          verification.ok
            ? `Verified: ${verification.checked} entries checked, head ${verification.headSeq ?? '-'}`
            : `FAILED at entry ${verification.firstBadSeq ?? '?'} (${verification.reason ?? 'unknown'})`,
        ],
        [
          'Signed checkpoint covering the period',
          checkpoint
            ? `Entry ${checkpoint.seq}, signed ${stamp(new Date(checkpoint.signedAt))} UTC by key ${checkpoint.keyId}`
            : inRange
              ? 'None yet: checkpoints are signed hourly; generate the report again later for one'
              : 'Not applicable (no entries in the period)',
        ],
      ]);
      if (checkpoint) {
        doc.paragraph('Checkpoint hash (SHA-256):', { size: 9 });
        doc.paragraph(checkpoint.hash, { size: 9 });
      }
      doc.heading('Entries by action', 2);
      doc.table(
        [
          { header: 'Action', width: 3 },
          { header: 'Entries', width: 1, align: 'right' },
        ],
        range.byAction.map((a) => [a.action, String(a.count)]),
        'No entries in the period.',
      );
    },
  );
  await progress(95);
  return { pdf, summary };
}
