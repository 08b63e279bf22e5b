import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../contracts/problems.ts';
import { ApiError } from './api.ts';
import { catalogStrings } from './catalog-words.strings.ts';
import { problemStrings } from './problems.strings.ts';
import { describeField, describeProblem, fieldErrors, planAllowing } from './problems.tsx';

const en = i18next.createInstance();
const es = i18next.createInstance();

describe('the console says problems in words', () => {
  beforeAll(async () => {
    for (const [instance, lng] of [
      [en, 'en'],
      [es, 'es'],
    ] as const) {
      await instance.init({
        lng,
        resources: { [lng]: { translation: { ...catalogStrings[lng], ...problemStrings[lng] } } },
        interpolation: { escapeValue: false },
      });
    }
  });

  it('has a title and a next step for every problem code, in English and in Spanish', () => {
    for (const code of PROBLEM_CODES) {
      for (const lang of ['en', 'es'] as const) {
        const strings = problemStrings[lang] as Record<string, string>;
        expect(strings[`problem_${code}_title`], `${lang} ${code} title`).toBeTruthy();
        expect(strings[`problem_${code}`], `${lang} ${code}`).toBeTruthy();
      }
    }
  });

  it('names the permission lacked and what still holds a role, from the problem’s params', () => {
    const denied = new ApiError(403, 'permission_denied', 'x', [], undefined, undefined, {
      permission: 'members:manage',
    });
    expect(describeProblem(en.t, denied).message).toBe(
      'It needs the permission to invite, remove and change the role of members (members:manage). Ask an Owner or Admin of this organization to do it for you, or to give you a role that allows it.',
    );
    expect(describeProblem(es.t, denied).message).toMatch(
      /^Hace falta el permiso para [a-záéíóúñ ,]+ \(members:manage\)\./,
    );
    // Without params (an older server) or with an unknown permission: the general sentence.
    for (const params of [{}, { permission: 'nope:nope' }]) {
      const plain = new ApiError(403, 'permission_denied', 'x', [], undefined, undefined, params);
      expect(describeProblem(en.t, plain).message).toBe(en.t('problem_permission_denied'));
    }
    const inUse = new ApiError(409, 'role_in_use', 'x', [], undefined, undefined, {
      members: 3,
      invitations: 1,
      tokens: 0,
    });
    expect(describeProblem(en.t, inUse).message).toBe(
      'It is still held by 3 member(s), 1 pending invitation(s) and 0 automation token(s). Choose a role to move them to, or move them first.',
    );
  });

  it('names the plan that allows what the plan refused, and who can change it', () => {
    expect(planAllowing('customRoles')).toBe('Scale');
    expect(planAllowing('maxMembers')).toBe('Scale');
    const refused = new ApiError(403, 'plan_limit', 'Custom roles are not part of this plan.');
    expect(describeProblem(en.t, refused, { feature: 'customRoles' }).message).toBe(
      'Custom roles needs the Scale plan. Only an Owner can change the plan: ask an Owner.',
    );
    expect(describeProblem(es.t, refused, { feature: 'customRoles' }).message).toMatch(
      /plan Scale.*Propietario/,
    );
  });

  it('says what to do when the person owns as many organizations as one may', () => {
    const refused = new ApiError(409, 'org_limit', 'You own 10 organizations, the most one person may.');
    expect(describeProblem(en.t, refused).message).toMatch(
      /^Delete an organization .* transfer its ownership/,
    );
    expect(describeProblem(es.t, refused).message).toMatch(
      /^Elimina una organización .* transfiere su propiedad/,
    );
    // Made owner by someone else (a transfer, a role change, an approval): the refusal is about them.
    const theirs = describeProblem(en.t, refused, { grantee: true });
    expect(theirs.title).toBe('They own as many organizations as one person may');
    expect(theirs.message).toMatch(/^They cannot be made an owner here/);
    expect(describeProblem(es.t, refused, { grantee: true }).message).toMatch(
      /^No se le puede hacer propietario/,
    );
    // Any other problem is worded as usual.
    expect(describeProblem(en.t, new ApiError(409, 'last_owner', 'x'), { grantee: true }).title).toBe(
      describeProblem(en.t, new ApiError(409, 'last_owner', 'x')).title,
    );
  });

  it('says how long to wait when rate limited, and never shows a code it does not know', () => {
    expect(describeProblem(en.t, new ApiError(429, 'rate_limited', 'x', [], 30)).message).toBe(
      'Wait 30 seconds, then try again.',
    );
    const unknown = describeProblem(en.t, new ApiError(400, 'brand_new_code', 'x'));
    expect(unknown.title).toBe('Something went wrong');
    expect(describeProblem(en.t, new TypeError('Failed to fetch')).title).toBe('Could not reach the server');
  });

  it('puts each field error in words beside its field, for every reason the server sends', () => {
    const field = (reason: string, params?: Record<string, unknown>, pointer = '/body/x') => ({
      field: pointer,
      message: 'server words',
      reason,
      ...(params ? { params } : {}),
    });
    const cases: Array<[ReturnType<typeof field>, string, string]> = [
      [
        field('format', { format: 'email' }),
        'Enter an email address, like name@example.com.',
        'Escribe una dirección de correo, como nombre@ejemplo.com.',
      ],
      [
        field('format', { format: 'uri' }),
        'Enter a full web address, starting with https://.',
        'Escribe una dirección web completa, que empiece por https://.',
      ],
      [
        field('format', { format: 'uuid' }),
        'This is not a valid identifier.',
        'No es un identificador válido.',
      ],
      [field('minLength', { limit: 12 }), 'Use at least 12 characters.', 'Usa al menos 12 caracteres.'],
      [field('maxLength', { limit: 100 }), 'Use at most 100 characters.', 'Usa como máximo 100 caracteres.'],
      [field('required'), 'This field is required.', 'Este campo es obligatorio.'],
      [
        field('pattern', { pattern: '^x$' }),
        'Use only the characters allowed here, on one line, not only spaces.',
        'Usa solo los caracteres permitidos aquí, en una línea, no solo espacios.',
      ],
      [
        field('enum', { allowedValues: ['read', 'write'] }),
        'Choose one of: read, write.',
        'Elige uno de: read, write.',
      ],
      [field('minItems', { limit: 1 }), 'Add at least 1 entry.', 'Añade al menos 1 elemento.'],
      [field('maxItems', { limit: 50 }), 'Add at most 50 entries.', 'Añade como máximo 50 elementos.'],
      [
        field('common_password'),
        'This is one of the most common passwords. Choose a longer or less predictable one.',
        'Es una de las contraseñas más comunes. Elige una más larga o menos previsible.',
      ],
      [
        field('contains_personal_info'),
        'Do not put your email address or your name in your password.',
        'No incluyas tu correo electrónico ni tu nombre en la contraseña.',
      ],
    ];
    for (const [error, english, spanish] of cases) {
      expect(describeField(en.t, error), error.reason).toBe(english);
      expect(describeField(es.t, error), error.reason).toBe(spanish);
    }
    // An item of a list is named by the value that was sent.
    const item = field('format', { format: 'email' }, '/body/emails/1');
    expect(describeField(en.t, item, { emails: ['a@b.test', 'bob@'] })).toBe(
      '“bob@” is not an email address.',
    );
    // A rule with no known reason is never shown in the server's English.
    expect(describeField(es.t, { field: '/body/x', message: 'must be frobnicated' })).toBe(
      'Este valor no se acepta.',
    );
  });

  it('places field errors under the form fields they name, and keeps the rest for above the form', () => {
    const error = new ApiError(400, 'validation_failed', 'x', [
      { field: '/body/emails/0', message: 'm', reason: 'format', params: { format: 'email' } },
      { field: '/body/other', message: 'm', reason: 'required' },
    ]);
    const split = fieldErrors(en.t, error, ['emails'], { body: { emails: ['nope'] } });
    expect(split.byField).toEqual({ emails: '“nope” is not an email address.' });
    expect(split.rest).toBe(error);
    expect(fieldErrors(en.t, error, ['emails', 'other']).rest).toBeNull();
  });
  it('says why single sign-on was refused, from the reason the server gives, in both languages', () => {
    const refused = (code: string, params: Record<string, unknown> = {}) =>
      new ApiError(400, code, 'x', [], undefined, undefined, params);
    // A sign-in the IdP's answer did not complete (also what the sign-in page gets in its query).
    expect(describeProblem(en.t, refused('sso_failed', { reason: 'email_unverified' })).message).toBe(
      'Your identity provider does not vouch for your email address, so it cannot sign you in here. Ask an Admin to check the identity provider.',
    );
    expect(describeProblem(es.t, refused('sso_failed', { reason: 'signature' })).message).toMatch(
      /^La respuesta no está firmada/,
    );
    // A reason the console has no words for: the general sentence, never the raw reason.
    expect(describeProblem(en.t, refused('sso_failed', { reason: 'brand_new' })).message).toBe(
      en.t('problem_sso_failed'),
    );
    // An IdP the server could not reach or use, on saving its settings.
    expect(describeProblem(en.t, refused('idp_invalid', { reason: 'issuer_mismatch' })).message).toMatch(
      /^The discovery document names another issuer/,
    );
    expect(describeProblem(es.t, refused('idp_unreachable', { reason: 'not_allowed' })).message).toMatch(
      /^Gatehouse no envía solicitudes a esta dirección/,
    );
    // Enforcing SSO from a session not signed in through the IdP.
    expect(
      describeProblem(
        en.t,
        new ApiError(409, 'would_lock_out', 'x', [], undefined, undefined, {
          reason: 'sso',
        }),
      ).message,
    ).toMatch(/^You are not signed in through this organization’s identity provider/);
    // A domain another org holds is named; a page's own words for a general code win otherwise.
    expect(describeProblem(en.t, refused('conflict', { domain: 'acme.test' })).message).toMatch(
      /^The domain acme\.test already points at another organization/,
    );
    expect(
      describeProblem(en.t, refused('conflict'), { words: { conflict: 'Mapped already.' } }).message,
    ).toBe('Mapped already.');
  });

  it('has words for every field message the SSO routes raise themselves', () => {
    for (const message of [
      'cannot be Owner',
      'is not an X.509 certificate in PEM form',
      'must be an http(s) URL',
    ]) {
      expect(describeField(en.t, { field: '/body/x', message })).not.toBe(en.t('field_invalid'));
      expect(describeField(es.t, { field: '/body/x', message })).not.toBe(es.t('field_invalid'));
    }
  });
});
