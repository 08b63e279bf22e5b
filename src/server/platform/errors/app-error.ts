import type { FieldError, Problem, ProblemCode } from '../../../contracts/problems.ts';

/** Every expected failure is an AppError; the single error handler renders it as problem+json. */
export class AppError extends Error {
  readonly status: number;
  readonly code: ProblemCode;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;
  /** The problem's particulars for clients (the problem document's `params`). */
  readonly params: Record<string, unknown> | undefined;
  /** Extension members of the problem document itself (RFC 9457 §3.2), e.g. `loginUrl`. */
  readonly extensions: Pick<Problem, 'loginUrl'> | undefined;

  constructor(
    status: number,
    code: ProblemCode,
    title: string,
    detail: string,
    options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      params?: Record<string, unknown>;
      extensions?: Pick<Problem, 'loginUrl'>;
    } = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.params = options.params;
    this.extensions = options.extensions;
  }
}

export class ValidationError extends AppError {
  constructor(errors: FieldError[], detail = 'The request has invalid fields.') {
    super(400, 'validation_failed', 'Validation failed', detail, { errors });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(detail = 'Sign in, or send a valid bearer token.') {
    super(401, 'unauthenticated', 'Authentication required', detail);
  }
}

export class InvalidCredentialsError extends AppError {
  constructor() {
    super(401, 'invalid_credentials', 'Invalid credentials', 'The email or password is incorrect.');
  }
}

export class PermissionDeniedError extends AppError {
  /**
   * @param permission the permission lacked (the first of `missing`, for a grant).
   * @param missing for a grant beyond the actor's reach: every permission they lack for it.
   * @param asked for a grant: what was asked for (the role, the member, the role moved to...), by name.
   */
  constructor(
    readonly permission: string,
    detail = `This action requires the "${permission}" permission.`,
    readonly missing?: readonly string[],
    readonly asked?: Readonly<Record<string, string>>,
  ) {
    super(403, 'permission_denied', 'Permission denied', detail, {
      params: missing ? { permission, missing: [...missing] } : { permission },
    });
  }
}

/**
 * The organization was suspended by an operator of the installation: its members and tokens are
 * refused on every org-scoped route until it is unsuspended (told only to those who may see it).
 */
export class OrgSuspendedError extends AppError {
  constructor() {
    super(
      403,
      'org_suspended',
      'Organization suspended',
      'This organization is suspended by the operators of this installation; nothing in it can be read or changed until they lift the suspension.',
    );
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'resource') {
    super(404, 'not_found', 'Not found', `The ${what} does not exist or is not visible to you.`);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code: ProblemCode = 'conflict', params?: Record<string, unknown>) {
    super(409, code, 'Conflict', detail, params ? { params } : {});
  }
}

/** An If-Match the resource no longer matches: someone changed it since the client read it. */
export class PreconditionFailedError extends AppError {
  constructor(detail: string) {
    super(412, 'precondition_failed', 'Precondition failed', detail);
  }
}

/** The organization's plan does not include this, or its limit is reached. */
export class PlanLimitError extends AppError {
  constructor(detail: string) {
    super(403, 'plan_limit', 'Plan limit reached', detail);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, detail = 'Too many attempts. Try again later.') {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(429, 'rate_limited', 'Too many requests', detail, { headers: { 'retry-after': String(seconds) } });
  }
}

export function assertFound<T>(value: T | null | undefined, what?: string): asserts value is T {
  if (value === null || value === undefined) throw new NotFoundError(what);
}

export function assertThat(condition: unknown, error: () => AppError): asserts condition {
  if (!condition) throw error();
}

/** A URL Gatehouse will not send requests to (the outbound guard's rules). */
export class UrlNotAllowedError extends AppError {
  constructor(detail: string, field?: string) {
    super(400, 'url_not_allowed', 'Address not allowed', detail, {
      ...(field ? { errors: [{ field, message: detail, reason: 'url_not_allowed' }] } : {}),
    });
  }
}
