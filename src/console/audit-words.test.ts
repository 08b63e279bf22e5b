import i18next, { type i18n } from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditWordStrings } from './audit-words.strings.ts';
import { type AuditEvent, type AuditWords, changeRows, summaryWords } from './audit-words.ts';
import { catalogStrings } from './catalog-words.strings.ts';
import { catalogWordsOf } from './catalog-words.ts';
import { formatsFor } from './format.ts';

const ORG = '0190a0b0-0000-7000-8000-00000000000a';
const instances: Record<'en' | 'es', i18n> = { en: i18next.createInstance(), es: i18next.createInstance() };

/** The words as the console builds them (useAuditWords), from the real bundles. */
function words(lang: 'en' | 'es'): AuditWords {
  const t = instances[lang].t;
  return {
    t,
    catalog: catalogWordsOf(t),
    format: formatsFor(lang, 'UTC'),
    memberOf: () => undefined,
    orgName: (id) => (id === ORG ? 'Words Inc' : undefined),
  };
}

function event(fields: Pick<AuditEvent, 'action' | 'target'> & Partial<AuditEvent>): AuditEvent {
  return {
    id: 'e1',
    seq: 1,
    occurredAt: '2026-03-04T05:06:07.089Z',
    actor: { type: 'user', id: 'u1', email: 'ada@example.com' },
    ip: null,
    userAgent: null,
    requestId: null,
    prevHash: '',
    hash: '',
    ...fields,
  };
}

beforeAll(async () => {
  for (const lng of ['en', 'es'] as const) {
    await instances[lng].init({
      lng,
      resources: { [lng]: { translation: { ...catalogStrings[lng], ...auditWordStrings[lng] } } },
      interpolation: { escapeValue: false },
    });
  }
});

describe('single sign-on entries in words', () => {
  const provisioned = event({
    action: 'member.provisioned',
    target: { type: 'member', id: 'u2', email: 'grace@example.com', name: 'Grace' },
    after: { role: 'admin', roleName: 'Admin', via: 'jit', idpGroup: 'eng-leads', protocol: 'saml' },
  });

  it('a member provisioned on first sign-on reads with their role and the IdP group that gave it', () => {
    expect(summaryWords(provisioned, words('en'))).toBe('as Admin by the IdP group eng-leads');
    expect(summaryWords(provisioned, words('es'))).toBe('como Administrador por el grupo del IdP eng-leads');
    const rows = Object.fromEntries(changeRows(provisioned, words('en')).map((r) => [r.field, r]));
    expect(rows.via).toMatchObject({ label: 'Added by', after: 'Just-in-time provisioning' });
    expect(rows.protocol).toMatchObject({ label: 'Protocol', after: 'SAML' });
    expect(rows.idpGroup).toMatchObject({ label: 'IdP group', after: 'eng-leads' });
    expect(rows.role).toMatchObject({ after: 'Admin' });
    expect(rows.roleName).toBeUndefined();
  });

  it('a sign-in says how it was made: single sign-on and its protocol, or a password', () => {
    const sso = event({
      action: 'member.signed_in',
      target: { type: 'session', id: 's1' },
      after: { method: 'sso', protocol: 'oidc', orgId: ORG, subject: 'abc' },
    });
    expect(summaryWords(sso, words('en'))).toBe('with Single sign-on (OIDC)');
    expect(summaryWords(sso, words('es'))).toBe('con Inicio de sesión único (OIDC)');
    const rows = Object.fromEntries(changeRows(sso, words('en')).map((r) => [r.field, r]));
    expect(rows.orgId).toMatchObject({ label: 'Organization', after: 'Words Inc' });
    expect(rows.subject).toMatchObject({ label: 'Identity at the IdP', after: 'abc' });
    const password = event({
      action: 'user.signed_in',
      target: { type: 'session', id: 's1' },
      after: { method: 'password' },
    });
    expect(summaryWords(password, words('es'))).toBe('con Contraseña');
  });

  it('a change of the SSO settings names each setting and its values', () => {
    const changed = event({
      action: 'sso.updated',
      target: { type: 'sso', id: ORG, name: 'Words Inc' },
      before: { enforcement: 'coexist', defaultRole: null, domains: [] },
      after: { enforcement: 'enforced', defaultRole: 'developer', domains: ['words.test'] },
    });
    const rows = Object.fromEntries(changeRows(changed, words('es')).map((r) => [r.field, r]));
    expect(rows.enforcement).toMatchObject({ before: 'Junto a las contraseñas', after: 'Obligatorio' });
    expect(rows.defaultRole).toMatchObject({ after: 'Desarrollador', changed: true });
    expect(rows.domains).toMatchObject({ label: 'Dominios de correo', after: 'words.test' });
  });
});
