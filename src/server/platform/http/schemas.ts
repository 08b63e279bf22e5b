import { type TProperties, type TSchema, Type } from 'typebox';

/** A request body object: unknown fields are refused, never silently dropped. */
export const Body = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false });

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
/** `:orgId` in a path. */
export const OrgParams = Type.Object({ orgId: Uuid });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** The value, or `null` (which clears it where a field may be empty). */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** A role's slug, as roles are created with it and as requests name one. */
export const RoleSlug = Type.String({
  minLength: 2,
  maxLength: 40,
  pattern: '^[a-z][a-z0-9_-]*$',
  description: 'Lowercase letters, digits, `-` and `_`, starting with a letter',
});
/** Handlers return Dates; the serializer writes them as RFC 3339 strings. */
export const DateTime = Type.Unsafe<Date | string>({
  type: 'string',
  format: 'date-time',
  description: 'RFC 3339 UTC time',
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: 'JSON pointer into the request part, e.g. /body/email' }),
          message: Type.String(),
          reason: Type.Optional(
            Type.String({
              description:
                'Why, for clients to put in their own words: the schema keyword (format, minLength, required, …) or a rule (common_password)',
            }),
          ),
          params: Type.Optional(
            Type.Record(Type.String(), Type.Unknown(), {
              description: "The rule's parameters, e.g. { format: 'email' }, { limit: 12 }",
            }),
          ),
        }),
      ),
    ),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          "The problem's particulars, for clients to put in their own words: permission_denied {permission, missing?}, role_in_use {members, invitations, tokens}",
      }),
    ),
    loginUrl: Type.Optional(
      Type.String({
        description: 'With sso_required: where to sign in through the organization’s identity provider',
      }),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem document' },
);

/** Response entries for the usual failures of a route; merge into `response`. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')]));

/**
 * One line people type (a name): at least one visible character and no control characters, so
 * it can go into an email subject or a log line as it is.
 */
export const SingleLine = (maxLength: number, options: { description?: string } = {}) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: '^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$',
    ...options,
  });

/** A page of a list: `{items, nextCursor}`. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
