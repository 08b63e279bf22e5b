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

/** One request to the Gatehouse API with the session cookie (same origin); problems become ApiErrors. */
async function request<T>(
  method: string,
  path: string,
  body?: { bytes: BodyInit; type: string },
  headers: Record<string, string> = {},
  onResponse?: (res: Response) => void,
): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body ? { ...headers, 'content-type': body.type } : headers,
    ...(body ? { body: body.bytes } : {}),
  });
  onResponse?.(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json:
    | { code?: string; detail?: string; errors?: Array<{ field: string; message: string }> }
    | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page, say): the status line speaks for it.
    if (res.ok)
      throw new ApiError(res.status, 'bad_response', 'The server answered with something other than JSON.');
  }
  if (!res.ok) {
    const fields = Array.isArray(json?.errors) ? json.errors : [];
    const detail = [
      json?.detail ?? res.statusText,
      ...fields.map((f) => `${f.field.split('/').pop()}: ${f.message}`),
    ].join(' ');
    throw new ApiError(res.status, json?.code ?? 'error', detail, fields);
  }
  return json as T;
}

/** One JSON request to the Gatehouse API (`headers`: e.g. If-Match). */
export function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<T> {
  return request<T>(
    method,
    path,
    body === undefined ? undefined : { bytes: JSON.stringify(body), type: 'application/json' },
    headers,
  );
}

/** A GET that also returns the resource's ETag, for a later conditional write (If-Match). */
export async function apiWithEtag<T>(path: string): Promise<{ data: T; etag: string | null }> {
  let etag: string | null = null;
  const data = await request<T>('GET', path, undefined, {}, (res) => {
    etag = res.headers.get('etag');
  });
  return { data, etag };
}

/** Sends a file as the raw request body (e.g. a logo), with its own content type. */
export function apiUpload(
  method: 'PUT' | 'POST',
  path: string,
  file: Blob,
  contentType: string,
): Promise<void> {
  return request<void>(method, path, { bytes: file, type: contentType });
}

export interface Me {
  user: { id: string; email: string; name: string; locale: string | null; timezone: string | null };
  memberships: Array<{
    org: { id: string; slug: string; name: string };
    role: string;
    permissions: string[];
  }>;
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

/** The organization profile (GET /orgs/:orgId). */
export interface Organization {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  contactEmail: string | null;
  website: string | null;
  industry: string | null;
  teamEmails: string[];
  invoiceRecipients: string[];
  plan: string;
  /** What the plan allows; `name` is the plan's display name. */
  entitlements: { name: string; [entitlement: string]: unknown };
  /** Same-origin path of the logo (versioned), or null when there is none. */
  logoUrl: string | null;
  createdAt: string;
  updatedAt: string;
}
