import { Alert, Anchor, Button, Text } from '@mantine/core';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { type Entitlements, PLAN_CATALOG, PLANS } from '../contracts/plans.ts';
import { type FieldError, PROBLEM_CODES } from '../contracts/problems.ts';
import { ApiError } from './api.ts';
import { permissionKey } from './catalog-words.strings.ts';
import { ssoLoginHref } from './hooks.ts';

/**
 * The one place the console turns a problem the API answered with into words: the `code` becomes a
 * sentence with the next step, and each field error (its `reason` and `params`, see
 * src/contracts/problems.ts) a message for the field it names. The server's English `detail` and
 * `message` are never shown as they are: a field error with no known reason says it is not
 * accepted, in the reader's language.
 */

/** A plan-gated thing the page was doing, so that a `plan_limit` can name the plan that allows it. */
export type PlanFeature =
  | 'customRoles'
  | 'maxMembers'
  | 'auditExport'
  | 'sso'
  | 'scim'
  | 'ipAllowlist'
  | 'customSessionTimeout'
  | 'fixVerification'
  | 'deepAiEnrichment';

/** The first plan, in catalog order, that allows `feature` (more members: one without a limit). */
export function planAllowing(feature: PlanFeature): string | null {
  const allows = (e: Entitlements) =>
    feature === 'maxMembers' ? e.maxMembers === null : Boolean(e[feature]);
  const plan = PLANS.find((p) => allows(PLAN_CATALOG[p]));
  return plan ? PLAN_CATALOG[plan].name : null;
}

const KNOWN = new Set<string>(PROBLEM_CODES);

/** The title and sentence (with the next step) for an error of any kind. */
export function describeProblem(
  t: TFunction,
  error: unknown,
  context: {
    feature?: PlanFeature;
    /** The action makes someone else an owner: an `org_limit` is about them, not the reader. */
    grantee?: boolean;
    /**
     * Per problem code, the page's own sentence, where the page knows what a general code
     * (`conflict`) means for the action it took.
     */
    words?: Partial<Record<string, string>>;
  } = {},
): { title: string; message: string; requestId?: string } {
  if (!(error instanceof ApiError)) {
    // fetch rejects with a TypeError when the server cannot be reached at all.
    const key = error instanceof TypeError ? 'network' : 'unknown';
    return { title: t(`problem_${key}_title`), message: t(`problem_${key}`) };
  }
  let code = KNOWN.has(error.code) ? error.code : error.status >= 500 ? 'internal_error' : 'unknown';
  if (code === 'org_limit' && context.grantee) code = 'org_limit_grantee';
  let message = t(`problem_${code}`);
  const reason = typeof error.params.reason === 'string' ? error.params.reason.replace(/\W/g, '') : '';
  const own = context.words?.[error.code];
  if (own) {
    message = own;
  } else if (code === 'plan_limit' && context.feature) {
    const plan = planAllowing(context.feature);
    if (plan) message = t('problem_plan_limit_feature', { feature: t(`feature_${context.feature}`), plan });
  } else if (code === 'rate_limited' && error.retryAfter) {
    message = t('problem_rate_limited_wait', { count: error.retryAfter });
  } else if (code === 'permission_denied' && typeof error.params.permission === 'string') {
    // Named by the catalog's description of it, in the reader's language, and by its key.
    const permission = error.params.permission;
    const described = t(permissionKey(permission), { defaultValue: '' });
    if (described) {
      const what = described.charAt(0).toLowerCase() + described.slice(1).replace(/\.$/, '');
      message = t('problem_permission_denied_named', { what, permission });
    }
  } else if (code === 'would_lock_out' && typeof error.params.reason === 'string') {
    message = t(`problem_would_lock_out_${error.params.reason}`, {
      address: String(error.params.address ?? ''),
      defaultValue: message,
    });
  } else if ((code === 'sso_failed' || code === 'idp_invalid' || code === 'idp_unreachable') && reason) {
    // Why the IdP's answer or configuration was refused, when the console has words for it.
    const prefix = code === 'sso_failed' ? 'problem_sso_failed' : 'problem_idp_reason';
    message = t(`${prefix}_${reason}`, { defaultValue: message });
  } else if (code === 'conflict' && typeof error.params.domain === 'string') {
    message = t('problem_conflict_domain', { domain: error.params.domain });
  } else if (code === 'role_in_use') {
    const { members, invitations, tokens } = error.params;
    if ([members, invitations, tokens].every((n) => typeof n === 'number')) {
      message = t('problem_role_in_use_counts', { members, invitations, tokens });
    }
  }
  return {
    title: t(`problem_${code}_title`),
    message,
    ...(error.requestId && error.status >= 500 ? { requestId: error.requestId } : {}),
  };
}

// Field errors some routes raise themselves, without a schema keyword behind them.
const MESSAGES: Record<string, string> = {
  'is incorrect': 'field_incorrect',
  'must differ from the current password': 'field_same_password',
  'is not a role of this organization': 'field_unknown_role',
  'is required': 'field_required',
  'cannot be Owner': 'field_not_owner',
  'is not an X.509 certificate in PEM form': 'field_not_certificate',
  'must be an http(s) URL': 'field_format_uri',
};

const value = (body: unknown, pointer: string[]): unknown =>
  pointer.reduce<unknown>(
    (at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
    body,
  );

/**
 * One field error in words. `body` is what was sent, so that an item of a list can be named
 * ("“bob@” is not an email address").
 */
export function describeField(t: TFunction, error: FieldError, body?: unknown): string {
  const params = error.params ?? {};
  const limit = typeof params.limit === 'number' ? params.limit : undefined;
  const [, , ...path] = error.field.split('/');
  const item = path.length > 1 ? value(body, path) : undefined;
  switch (error.reason) {
    case 'format': {
      const format = String(params.format ?? '');
      if (format === 'email' && typeof item === 'string')
        return t('field_format_email_item', { value: item });
      if (format === 'email' || format === 'idn-email') return t('field_format_email');
      if (format === 'uri' || format === 'url') return t('field_format_uri');
      if (format === 'uuid') return t('field_format_uuid');
      return t('field_format');
    }
    case 'required':
      return t('field_required');
    case 'minLength':
      return limit === 1 ? t('field_required') : t('field_minLength', { count: limit });
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return t(`field_${error.reason}`, { count: limit });
    case 'minimum':
    case 'maximum':
      return t(`field_${error.reason}`, { count: limit });
    case 'enum':
      return t('field_enum', {
        values: Array.isArray(params.allowedValues) ? params.allowedValues.join(', ') : '',
      });
    case 'pattern':
    case 'uniqueItems':
    case 'type':
    case 'additionalProperties':
    case 'common_password':
    case 'contains_personal_info':
    case 'url_not_allowed':
    case 'e164':
    case 'secret_in_config':
    case 'url_query':
    case 'card_data':
      return t(`field_${error.reason}`);
    case 'url_fragment':
      return t('field_url_query');
    case 'cidr_invalid':
    case 'cidr_host_bits':
      return t(`field_${error.reason}`, { value: typeof item === 'string' ? item : '' });
  }
  if (error.message === 'is incorrect' && /password/i.test(error.field)) return t('field_password_incorrect');
  const known = MESSAGES[error.message];
  return t(known ?? 'field_invalid');
}

/** The form field a problem's pointer names: `/body/emails/1` → `emails`. */
const fieldName = (pointer: string) => pointer.split('/')[2] ?? '';

// Problems that are about one field of the form that caused them.
const FIELD_OF_CODE: Record<string, string> = { slug_taken: 'slug', email_taken: 'email' };

/** What a form knows better than the generic words. */
export interface FieldWords {
  /** What was sent, so that an item of a list can be named. */
  body?: unknown;
  /** Per field, the rule in words, for a value its pattern refuses ("2 to 40 lowercase letters…"). */
  rules?: Record<string, string>;
  /** Per problem code that concerns one field (`slug_taken`), the page's own sentence. */
  conflicts?: Record<string, string>;
}

/**
 * Splits an error into messages for the form's own fields and what is left to show above the form
 * (null when every part of it found its field).
 */
export function fieldErrors(
  t: TFunction,
  error: unknown,
  fields: readonly string[],
  words: FieldWords = {},
): { byField: Record<string, string>; rest: unknown } {
  if (!(error instanceof ApiError)) return { byField: {}, rest: error };
  const byField: Record<string, string> = {};
  const owner = FIELD_OF_CODE[error.code];
  if (owner && fields.includes(owner)) {
    const problem = describeProblem(t, error);
    byField[owner] = words.conflicts?.[error.code] ?? `${problem.title}. ${problem.message}`;
    return { byField, rest: null };
  }
  if (error.fields.length === 0) return { byField, rest: error };
  let unplaced = false;
  for (const f of error.fields) {
    const name = fieldName(f.field);
    if (!fields.includes(name)) unplaced = true;
    else if (f.reason === 'pattern' && words.rules?.[name]) byField[name] ??= words.rules[name];
    else byField[name] ??= describeField(t, f, words.body);
  }
  return { byField, rest: unplaced ? error : null };
}

/**
 * An error as an alert in words: a title, what to do next, and for a refusal of fields the form
 * did not place, each of them by name.
 */
export function ErrorText({
  error,
  feature,
  grantee,
  words,
}: {
  error: unknown;
  feature?: PlanFeature;
  /** The action makes someone else an owner (see describeProblem). */
  grantee?: boolean;
  /** Per problem code, the page's own sentence (see describeProblem). */
  words?: Partial<Record<string, string>>;
}) {
  const { t } = useTranslation();
  const { orgId } = useParams();
  if (!error) return null;
  const problem = describeProblem(t, error, {
    ...(feature ? { feature } : {}),
    ...(grantee ? { grantee } : {}),
    ...(words ? { words } : {}),
  });
  const ssoLogin =
    error instanceof ApiError && error.code === 'sso_required' && typeof error.params.loginUrl === 'string'
      ? error.params.loginUrl
      : null;
  const fields = error instanceof ApiError ? error.fields : [];
  return (
    <Alert color="red" role="alert" title={problem.title}>
      <Text size="sm">{problem.message}</Text>
      {fields.map((f) => (
        <Text size="sm" key={f.field + f.message}>
          {t('field_named', { field: fieldName(f.field) || f.field, message: describeField(t, f) })}
        </Text>
      ))}
      {/* Held by the org's require-2FA: the way out is the member's own account page. */}
      {error instanceof ApiError && error.code === 'two_factor_required' && orgId && (
        <Anchor
          component={Link}
          to={`/orgs/${orgId}/settings/account/security`}
          size="sm"
          c="inherit"
          underline="always"
        >
          {t('twoFactorHeldLink')}
        </Anchor>
      )}
      {/* Held by the org's enforced SSO: the way out is its IdP, and back to this very page. */}
      {ssoLogin && (
        <Button
          component="a"
          href={ssoLoginHref(ssoLogin, { next: `${window.location.pathname}${window.location.search}` })}
          size="xs"
          mt="xs"
        >
          {t('ssoSignInButton')}
        </Button>
      )}
      {problem.requestId && <Text size="xs">{t('problem_request_id', { id: problem.requestId })}</Text>}
    </Alert>
  );
}
