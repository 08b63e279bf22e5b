import type { FieldError, Problem } from '../contracts/problems.ts';

/**
 * A problem document the API answered with. Pages show it in words through problems.tsx, from
 * `code` and `fields`; the server's English `detail` stays the error's message, for logs only.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly fields: FieldError[] = [],
    /** Seconds to wait before trying again (`Retry-After`), when the server said. */
    readonly retryAfter?: number,
    readonly requestId?: string,
    /** The problem's particulars (`params`), e.g. the permission lacked. */
    readonly params: Record<string, unknown> = {},
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
  let json: Partial<Problem> | undefined;
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
    const retryAfter = Number(res.headers.get('retry-after')) || undefined;
    const params = json?.params && typeof json.params === 'object' ? json.params : {};
    throw new ApiError(
      res.status,
      json?.code ?? 'error',
      detail,
      fields,
      retryAfter,
      json?.requestId,
      params,
    );
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

/** Sends a file as the raw request body (a logo, a SARIF log), with its own content type. */
export function apiUpload<T = void>(
  method: 'PUT' | 'POST',
  path: string,
  file: Blob | string,
  contentType: string,
): Promise<T> {
  return request<T>(method, path, { bytes: file, type: contentType });
}

// The shapes the API answers with live in src/contracts/wire.ts, shared with the server.
export type {
  CreatedToken,
  Invitation,
  Me,
  Member,
  Organization,
  OrgSecurity,
  Page,
  Role,
  TokenView,
  UsageEntry,
} from '../contracts/wire.ts';
