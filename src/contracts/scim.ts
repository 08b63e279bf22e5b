/**
 * SCIM provisioning's admin side as the API sends it (src/server/modules/scim/scim.routes.ts is the
 * authority; these follow its schemas). Times are RFC 3339 strings. The base URL to give the
 * identity provider comes with the SSO settings (`serviceProvider.scimBaseUrl`).
 */

/** GET …/scim-tokens: a live SCIM token; the token itself is never sent again. */
export interface ScimTokenView {
  id: string;
  name: string;
  /** The prefix and last four characters (`scim_…AbCd`). */
  hint: string;
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
}

/** POST …/scim-tokens: the new token, in this answer only. */
export interface CreatedScimToken {
  id: string;
  name: string;
  hint: string;
  createdAt: string;
  lastUsedAt: null;
  token: string;
}

/** GET …/scim-log: one request of the identity provider, newest first. */
export interface ScimLogEntry {
  at: string;
  method: string;
  /** Without its query string. */
  path: string;
  status: number;
  /** Why it was refused, as the SCIM error document said it. */
  error?: string;
}
