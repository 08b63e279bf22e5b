/** A problem document the API answered with, as an error the pages can show in words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly fields: Array<{ field: string; message: string }> = [],
  ) {
    super(detail);
  }
}

/** One JSON request to the Gatehouse API with the session cookie (same origin). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const fields = Array.isArray(json?.errors) ? json.errors : [];
    const detail = [
      json?.detail ?? res.statusText,
      ...fields.map((f: { field: string; message: string }) => `${f.field.split('/').pop()}: ${f.message}`),
    ].join(' ');
    throw new ApiError(res.status, json?.code ?? 'error', detail, fields);
  }
  return json as T;
}

export interface Me {
  user: { id: string; email: string; name: string; locale: string | null; timezone: string | null };
  memberships: Array<{ org: { id: string; slug: string; name: string }; role: string }>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: string;
  status: string;
  joinedAt: string;
  lastActiveAt: string | null;
}

export interface Role {
  slug: string;
  name: string;
  builtin: boolean;
  permissions: string[];
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  expiresAt: string;
}

export interface TokenView {
  id: string;
  name: string;
  role?: string | null;
  scopes: string[];
  permissions?: string[];
  status: string;
  hint: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface CreatedToken extends TokenView {
  token: string;
}

export interface UsageEntry {
  at: string;
  ip: string | null;
  method: string;
  route: string;
  status: number;
  count: number;
}
