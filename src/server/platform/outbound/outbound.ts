/**
 * The one HTTP client for user-supplied URLs (webhooks, Slack, AI providers, integrations, OIDC
 * discovery, SAML metadata): its interface. `createOutbound` (client.ts) implements it; the
 * app's instance is `app.gatehouse.outbound`.
 */
export interface OutboundRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole request, connection to last byte (default 15 000). */
  timeoutMs?: number;
  /** Bytes of the response body kept; the rest is discarded and `truncated` set (default 1 MiB). */
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
  durationMs: number;
  /** The address the connection was pinned to. */
  address: string;
}

/** Why a request did not get a response (never carries the request's headers or body). */
export type OutboundFailure =
  | 'not_allowed'
  | 'dns'
  | 'connect'
  | 'tls'
  | 'timeout'
  | 'too_large'
  | 'protocol';

export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface Outbound {
  /**
   * Submission-time check of a URL a user gives (throws `UrlNotAllowedError`, 400
   * `url_not_allowed`, naming `field` when given): http(s), no userinfo, every address the name
   * resolves to allowed; `https:` required unless allowlisted or `allowHttp`.
   */
  check(url: string, options?: { field?: string }): Promise<URL>;
  /**
   * Sends one request: the name resolved once, the connection pinned to the checked address, no
   * redirects followed (a 3xx is returned as is), bounded time and size. Throws `OutboundError`.
   */
  request(url: string, request?: OutboundRequest): Promise<OutboundResponse>;
}
