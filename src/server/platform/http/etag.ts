import { createHash } from 'node:crypto';

/** An entity tag: a digest of what an edit can change, for a client's If-Match. */
export function digestTag(value: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(value));
  return `"${digest.digest('base64url').slice(0, 22)}"`;
}

/** Whether an If-Match header value (one tag, a list, or `*`) names the current tag. */
export function ifMatches(header: string, etag: string): boolean {
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag;
  });
}
