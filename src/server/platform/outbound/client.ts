/**
 * The SSRF guard: the one HTTP client for user-supplied URLs.
 *
 * - A URL passes `check` (at submission) when it is http(s), carries no user name or password,
 *   and its host — an address literal in any spelling, or every address its name resolves to —
 *   is public or in OUTBOUND_ALLOWLIST; `localhost` names pass only when allowlisted by name.
 *   Plain http only for allowlisted targets (or with `allowHttp`, a development switch).
 * - `request` checks the URL again and resolves the name once, inside the connection's own
 *   lookup: every address is checked there and the socket connects to those checked addresses,
 *   so a name that changes its answer between the check and the request (DNS rebinding) reaches
 *   nothing unchecked. Node skips `lookup` for address literals, so literals are checked before
 *   any connection (and again in the connector). Redirects are never followed; the whole
 *   request is bounded in time and the response body in size.
 *
 * Nothing here logs, and no error carries the request's headers or body.
 */
import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import { Agent, buildConnector, request as undiciRequest } from 'undici';
import { UrlNotAllowedError } from '../errors/app-error.ts';
import {
  type AddressDecision,
  type Allowlist,
  decideAddress,
  describeAddress,
  describeKind,
  isLocalhostName,
  isNameAllowlisted,
  normalizeHostName,
  parseAddress,
  parseAllowlist,
} from './addresses.ts';
import {
  type Outbound,
  OutboundError,
  type OutboundFailure,
  type OutboundRequest,
  type OutboundResponse,
} from './outbound.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (default: the system resolver, `dns.lookup`). */
export type OutboundLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundOptions {
  /** OUTBOUND_ALLOWLIST entries (CIDRs, addresses, host names) or an already parsed list. */
  allowlist?: readonly string[] | Allowlist;
  /** Plain http to any allowed target, not only allowlisted ones (development only). */
  allowHttp?: boolean;
  /** Replaces the system resolver (tests stub it to exercise rebinding). */
  lookup?: OutboundLookup;
  /** Defaults of `OutboundRequest.timeoutMs` and `maxResponseBytes`. */
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

const systemLookup: OutboundLookup = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

/** A refusal by the rules; `check` turns it into 400 url_not_allowed, `request` into not_allowed. */
class Refusal extends Error {}

/** What the URL alone says about its target, before any resolution. */
interface Target {
  url: URL;
  /** The host without brackets or trailing dot, lower case. */
  host: string;
  /** Set when the host is an address literal (already decided, allowed). */
  literal: AddressDecision | null;
  /** The host name is in the allowlist: its addresses are not checked and http is allowed. */
  nameAllowlisted: boolean;
}

function isAllowlistedAll(decisions: AddressDecision[]): boolean {
  return decisions.length > 0 && decisions.every((d) => d.allowlisted);
}

export function createOutbound(options: OutboundOptions = {}): Outbound {
  const allowlist: Allowlist =
    options.allowlist === undefined
      ? parseAllowlist([])
      : Array.isArray(options.allowlist)
        ? parseAllowlist(options.allowlist)
        : (options.allowlist as Allowlist);
  const allowHttp = options.allowHttp === true;
  const lookup = options.lookup ?? systemLookup;
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const defaultMaxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  const httpRefusal = () =>
    new Refusal('use https: plain http is allowed only for targets in OUTBOUND_ALLOWLIST');

  /** The checks that need no resolution. Throws Refusal. */
  function inspectUrl(raw: string | URL): Target {
    let url: URL;
    try {
      url = new URL(String(raw));
    } catch {
      throw new Refusal('not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Refusal('only http and https URLs are allowed');
    }
    if (url.username !== '' || url.password !== '') {
      throw new Refusal('URLs with a user name or password are not allowed');
    }
    const bracketed = url.hostname.startsWith('[') && url.hostname.endsWith(']');
    const host = normalizeHostName(bracketed ? url.hostname.slice(1, -1) : url.hostname);
    if (host === '') throw new Refusal('the URL names no host');
    // WHATWG URL has already turned 127.1, 0x7f000001, 2130706433 and 0177.0.0.1 into 127.0.0.1;
    // parseAddress understands those spellings too, should one ever get through.
    if (bracketed || parseAddress(host)) {
      const decision = decideAddress(host, allowlist);
      if (!decision.allowed) throw new Refusal(`the host is ${describeAddress(decision)}`);
      if (url.protocol === 'http:' && !decision.allowlisted && !allowHttp) throw httpRefusal();
      return { url, host: decision.address, literal: decision, nameAllowlisted: false };
    }
    const nameAllowlisted = isNameAllowlisted(host, allowlist);
    if (!nameAllowlisted && isLocalhostName(host)) {
      throw new Refusal(`${host} is this machine`);
    }
    return { url, host, literal: null, nameAllowlisted };
  }

  /**
   * The decisions on a name's addresses. Throws Refusal when one is refused, or when plain http
   * goes to a target that is not wholly allowlisted.
   */
  function decideResolved(target: Target, addresses: ResolvedAddress[]): ResolvedAddress[] {
    if (addresses.length === 0) throw new Refusal(`${target.host} resolves to no address`);
    if (target.nameAllowlisted) return addresses;
    const decisions = addresses.map((a) => decideAddress(a.address, allowlist));
    const refused = decisions.find((d) => !d.allowed);
    if (refused) throw new Refusal(`${target.host} resolves to ${describeKind(refused)}`);
    if (target.url.protocol === 'http:' && !allowHttp && !isAllowlistedAll(decisions)) throw httpRefusal();
    return addresses;
  }

  async function check(url: string, checkOptions: { field?: string } = {}): Promise<URL> {
    try {
      const target = inspectUrl(url);
      if (target.literal || target.nameAllowlisted) return target.url;
      let addresses: ResolvedAddress[];
      try {
        addresses = await lookup(target.host);
      } catch {
        throw new Refusal(`${target.host} does not resolve to an address`);
      }
      decideResolved(target, addresses);
      return target.url;
    } catch (err) {
      if (err instanceof Refusal) throw new UrlNotAllowedError(err.message, checkOptions.field);
      throw err;
    }
  }

  async function request(url: string, req: OutboundRequest = {}): Promise<OutboundResponse> {
    let target: Target;
    try {
      target = inspectUrl(url);
    } catch (err) {
      if (err instanceof Refusal) throw new OutboundError('not_allowed', err.message);
      throw err;
    }
    const timeoutMs = req.timeoutMs ?? defaultTimeout;
    const maxBytes = req.maxResponseBytes ?? defaultMaxBytes;
    const started = performance.now();
    let connectedTo: string | undefined;

    // The name is resolved here, once, when the socket connects; the socket then connects to
    // exactly the addresses checked.
    const pinnedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
      lookup(hostname)
        .then((addresses) => {
          const checked = decideResolved(target, addresses).filter(
            (a) => !lookupOptions.family || a.family === lookupOptions.family,
          );
          if (checked.length === 0)
            throw Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' });
          if (lookupOptions.all) callback(null, checked);
          else callback(null, checked[0]!.address, checked[0]!.family);
        })
        .catch((err: unknown) => {
          callback(
            err instanceof Refusal
              ? new OutboundError('not_allowed', err.message)
              : (err as NodeJS.ErrnoException),
            '',
          );
        });
    };
    const connector = buildConnector({ lookup: pinnedLookup, timeout: timeoutMs });
    const agent = new Agent({
      connect: (connectOptions, callback) => {
        // Node connects to an address literal without calling lookup: decide it here as well.
        const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
        if (net.isIP(host)) {
          const decision = decideAddress(host, allowlist);
          if (!decision.allowed) {
            callback(new OutboundError('not_allowed', `the host is ${describeAddress(decision)}`), null);
            return;
          }
        }
        connector(connectOptions, (err, socket) => {
          if (err || !socket) {
            callback(err ?? new Error('no socket'), null);
            return;
          }
          connectedTo = socket.remoteAddress;
          callback(null, socket);
        });
      },
      connections: 1,
      pipelining: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });

    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new OutboundError('timeout', `no complete response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const headers: Record<string, string> = { ...req.headers };
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'user-agent'))
        headers['user-agent'] = 'Gatehouse';
      const response = await undiciRequest(target.url, {
        dispatcher: agent,
        method: req.method ?? 'GET',
        headers,
        body: req.body,
        signal: controller.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        const room = maxBytes - size;
        if (chunk.length > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size = maxBytes;
          truncated = true;
          // Leaving the loop destroys the body: nothing past the cap is read.
          break;
        }
        chunks.push(chunk);
        size += chunk.length;
      }
      const responseHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      return {
        status: response.statusCode,
        headers: responseHeaders,
        body: Buffer.concat(chunks, size),
        truncated,
        durationMs: Math.round(performance.now() - started),
        address: connectedTo ?? '',
      };
    } catch (err) {
      throw toOutboundError(err);
    } finally {
      clearTimeout(timer);
      agent.destroy().catch(() => {});
    }
  }

  return { check, request };
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_OSSL_)/;

/** A failure in our words; messages name no header or body of the request. */
function toOutboundError(err: unknown): OutboundError {
  if (err instanceof OutboundError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  if (e?.cause instanceof OutboundError) return e.cause;
  const code = String(e?.code ?? '');
  // undici refused what the caller gave (a header value with a line break, say): its own
  // message may quote the value, so it is not passed on.
  if (code === 'UND_ERR_INVALID_ARG') {
    return new OutboundError(
      'protocol',
      'the request could not be sent as given (an invalid header or option)',
    );
  }
  const reason: OutboundFailure = (() => {
    if (['ENOTFOUND', 'EAI_AGAIN', 'ENODATA', 'EAI_FAIL', 'EAI_NONAME'].includes(code)) return 'dns';
    if (
      ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'].includes(
        code,
      )
    )
      return 'timeout';
    if (TLS_CODE.test(code)) return 'tls';
    if (
      ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE'].includes(code)
    )
      return 'connect';
    return 'protocol';
  })();
  const what: Record<OutboundFailure, string> = {
    not_allowed: 'address not allowed',
    dns: 'the host name did not resolve',
    connect: 'the connection failed',
    tls: 'the TLS handshake failed',
    timeout: 'no complete response in time',
    too_large: 'the response was too large',
    protocol: 'the response was not valid HTTP',
  };
  return new OutboundError(reason, code ? `${what[reason]} (${code})` : what[reason]);
}
