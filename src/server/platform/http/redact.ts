const SENSITIVE = /token|secret|password|code|key|signature|session/i;

/** A URL fit for a log line: values of query parameters that could carry secrets are masked. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const out: string[] = [];
  for (const [name, value] of params) {
    out.push(
      `${encodeURIComponent(name)}=${SENSITIVE.test(name) ? '[redacted]' : encodeURIComponent(value)}`,
    );
  }
  return `${url.slice(0, q)}?${out.join('&')}`;
}
