/** Stable machine codes carried by every problem document (`code`). Clients switch on these. */
export const PROBLEM_CODES = [
  'validation_failed',
  'malformed_request',
  'payload_too_large',
  'unsupported_media_type',
  'unauthenticated',
  'invalid_credentials',
  'second_factor_required',
  'invalid_second_factor',
  'two_factor_required',
  'email_unverified',
  'permission_denied',
  'forbidden_origin',
  'session_required',
  'token_limit',
  'org_limit',
  'org_suspended',
  'ip_not_allowed',
  'sso_required',
  'sso_failed',
  'sso_link_required',
  'idp_unreachable',
  'idp_invalid',
  'would_lock_out',
  'not_found',
  'method_not_allowed',
  'conflict',
  'precondition_failed',
  'email_taken',
  'last_owner',
  'plan_limit',
  'plan_selection_operator',
  'quota_exhausted',
  'invalid_sarif',
  'url_not_allowed',
  'webhook_limit',
  'integration_limit',
  'reauthentication_required',
  'rate_limited',
  'invite_expired',
  'invite_used',
  'invite_email_mismatch',
  'token_expired',
  'second_factor_required',
  'invalid_second_factor',
  'already_member',
  'role_in_use',
  'slug_taken',
  'passkey_rejected',
  'passkey_exists',
  'passkey_limit',
  'audit_verification_failed',
  'export_not_ready',
  'report_not_ready',
  'internal_error',
  'service_unavailable',
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

export interface FieldError {
  /** JSON pointer into the request part, e.g. `/body/email`. */
  field: string;
  message: string;
  /** Why, for clients to put in their own words: the schema keyword (`format`, `minLength`, `required`, …) or a rule (`common_password`). */
  reason?: string;
  /** The rule's parameters, e.g. `{ format: 'email' }`, `{ limit: 12 }`. */
  params?: Record<string, unknown>;
}

/** RFC 9457 problem document as Gatehouse renders it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId?: string;
  errors?: FieldError[];
  /**
   * The particulars, for clients to put in their own words: for `permission_denied`
   * `{permission, missing?}` (the permission lacked; for a grant beyond reach, every one),
   * for `role_in_use` `{members, invitations, tokens}` (what still holds the role).
   */
  params?: Record<string, unknown>;
  /** For `sso_required`: where the member signs in through the organization's identity provider. */
  loginUrl?: string;
}

export const problemType = (code: ProblemCode) => `urn:gatehouse:problem:${code}`;
