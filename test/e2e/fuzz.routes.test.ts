import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES, type ProblemCode, problemType } from '../../src/contracts/problems.ts';
import type { RouteInventoryEntry } from '../../src/server/platform/http/route-policy.ts';
import { createTestApp, ORIGIN, STRONG_PASSWORD, signUp, type TestApp } from '../support/app.ts';

/**
 * Property-based fuzzing of every route in the live route inventory (`app.gatehouse.routes`).
 * Whatever arrives — random or malformed JSON, non-JSON, wrong content types, odd path
 * parameters, hostile query strings, headers and cookies, signed in or not, from our origin or a
 * foreign one — the answer is never a 5xx, and every 4xx is an RFC 9457 problem document whose
 * `status` matches the HTTP status. Field and query names come from each route's own schema (the
 * OpenAPI document), so new routes are fuzzed with their own vocabulary without editing this file.
 *
 * Requests go through `app.inject` (a real database behind), except the wire property, which uses a
 * real socket so that `..` reaches the router unresolved. Content-Length mismatches are not fuzzed:
 * inject always sends a matching one.
 *
 * fast-check prints the seed and the shrunk counterexample on failure; replay with
 * `FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz.routes.test.ts -t '<test name>'`, and fuzz
 * longer with `FUZZ_RUNS=2000`.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const fcOptions = (numRuns = RUNS): fc.Parameters<unknown> => ({
  numRuns,
  ...(SEED === undefined ? {} : { seed: SEED }),
});
const PROPERTY_TIMEOUT = 120_000;

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const isDocs = (url: string) => url === '/docs' || url.startsWith('/docs/');

/** Markers resolved when a request is sent, because the session they name may have been replaced. */
const VALID_SESSION = '<valid session token>';
const CURRENT_SESSION_ID = '<current session id>';
/** The organization the fuzzing account owns, and the account's user id: org routes reach their handlers. */
const OWN_ORG_ID = '<own org id>';
const OWN_USER_ID = '<own user id>';
/** The fuzzing account's email, fixed up front so that bodies can carry the real credentials. */
const KNOWN_EMAIL = `fuzz-${process.pid}-${Date.now().toString(36)}@example.test`;

/** The part of JSON Schema the routes use, as the OpenAPI document renders it. */
interface JsonSchema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

/** A route and what its schema declares (from the OpenAPI document; nothing for hidden routes). */
interface Target {
  method: string;
  url: string;
  access: RouteInventoryEntry['access'];
  body: JsonSchema | undefined;
  bodyFields: string[];
  query: Record<string, JsonSchema>;
  queryKeys: string[];
}

let t: TestApp;
let targets: Target[];
let wireBase: { host: string; port: number };
const me = { token: '', sessionId: '', userId: '', orgId: '', refreshed: 0 };

async function adoptSession(cookie: string): Promise<void> {
  me.token = cookie.slice('gatehouse_session='.length);
  const list = await t.app.inject({ method: 'GET', url: '/api/v1/me/sessions', headers: { cookie } });
  expect(list.statusCode).toBe(200);
  me.sessionId = list.json().items.find((s: { current: boolean }) => s.current).id;
  const profile = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });
  me.userId = profile.json().user.id;
  // The account owns an organization on a plan with every feature, so that org-scoped routes
  // get past the access check to validation and the handlers.
  const org = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs',
    headers: { cookie, origin: ORIGIN },
    payload: { name: 'Fuzz Org', plan: 'enterprise' },
  });
  expect(org.statusCode).toBe(201);
  me.orgId = org.json().id;
}

/** A fresh signed-in session, for when fuzzing ended the previous one (logout, revoke, re-login). */
async function refreshSession(): Promise<void> {
  me.refreshed++;
  await adoptSession((await signUp(t.app)).cookie);
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

function targetsOf(routes: RouteInventoryEntry[], spec: unknown): Target[] {
  const paths = (spec as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths ?? {};
  return routes.map((entry) => {
    const op = paths[entry.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[entry.method.toLowerCase()];
    const body = op?.requestBody?.content?.['application/json']?.schema;
    const query = Object.fromEntries(
      (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}]),
    );
    return {
      method: entry.method,
      url: entry.url,
      access: entry.access,
      body,
      bodyFields: Object.keys(body?.properties ?? {}),
      query,
      queryKeys: Object.keys(query),
      // Counterexamples name the route instead of printing its schemas.
      [fc.toStringMethod]: () => `${entry.method} ${entry.url}`,
    };
  });
}

beforeAll(async () => {
  // URLs in fuzzed bodies (webhooks) are checked by the outbound guard, which resolves names: here
  // no name resolves, so nothing leaves this machine, not even a DNS query.
  t = await createTestApp({}, undefined, {
    outboundLookup: async (hostname) => {
      throw Object.assign(new Error(`${hostname}: not resolved in this test`), { code: 'ENOTFOUND' });
    },
  });
  targets = targetsOf(t.app.gatehouse.routes, t.app.swagger());
  await adoptSession((await signUp(t.app, { email: KNOWN_EMAIL })).cookie);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address() as AddressInfo;
  wireBase = { host: address.address, port: address.port };
});

afterAll(async () => {
  await t?.close();
  if (process.env.FUZZ_STATS)
    console.log(JSON.stringify(stats, null, 1), `sessions replaced: ${me.refreshed}`);
});

// ---------------------------------------------------------------------------------------------
// Requests and the response contract
// ---------------------------------------------------------------------------------------------

interface FuzzRequest {
  route: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

interface FuzzResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describeRequest(r: FuzzRequest, res?: FuzzResponse): string {
  const payload =
    r.payload === undefined
      ? undefined
      : Buffer.isBuffer(r.payload)
        ? `<${r.payload.length} bytes>`
        : clip(r.payload);
  return JSON.stringify({
    method: r.method,
    url: clip(r.url),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, clip(v)])),
    payload,
    status: res?.statusCode,
    contentType: res?.headers['content-type'],
    body: res?.body.slice(0, 500),
  });
}

/** Answers seen per route and status (`FUZZ_STATS=1` prints them): is the fuzzing reaching the handlers? */
const stats: Record<string, Record<string, number>> = {};

function count(request: FuzzRequest, res: FuzzResponse): void {
  const route = `${request.method} ${request.route}`;
  const seen = stats[route] ?? {};
  stats[route] = seen;
  const code = res.body.startsWith('{') ? /"code":"([a-z_]+)"/.exec(res.body)?.[1] : undefined;
  const key = code ? `${res.statusCode} ${code}` : String(res.statusCode);
  seen[key] = (seen[key] ?? 0) + 1;
}

/** No 5xx, ever; a 4xx is an RFC 9457 problem document. */
function expectContract(request: FuzzRequest, res: FuzzResponse): void {
  count(request, res);
  const context = describeRequest(request, res);
  expect(res.statusCode, context).toBeLessThan(500);
  if (res.statusCode < 400) return;
  // SCIM answers its clients (identity providers) in SCIM's own error schema (RFC 7644 §3.12);
  // what never reaches a SCIM route (a method it does not serve, a path `..` leads elsewhere) is
  // answered like any unknown route. No other route answers in SCIM's schema.
  if (
    request.route.startsWith('/scim/v2/') &&
    SCIM_METHODS.has(request.method) &&
    String(res.headers['content-type']).startsWith('application/scim+json')
  ) {
    if (request.method !== 'HEAD') expectScimError(res, context);
    return;
  }
  // /docs/* included: @fastify/swagger-ui serves its files through @fastify/static, whose
  // failures (404, 403 for traversal, 412 for a failed precondition, 416 for an unsatisfiable
  // Range) are raised as errors or sent to the not-found handler, so they come out as problem
  // documents like everything else and get no exemption.
  expect(String(res.headers['content-type']), context).toMatch(/^application\/problem\+json/);
  if (request.method === 'HEAD') return;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(res.body);
  } catch {
    throw new Error(`4xx body is not JSON: ${context}`);
  }
  expect(problem, context).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: res.statusCode,
    detail: expect.any(String),
    code: expect.any(String),
  });
  expect(PROBLEM_CODES, context).toContain(problem.code);
  expect(problem.type, context).toBe(problemType(problem.code as ProblemCode));
}

const SCIM_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

function expectScimError(res: FuzzResponse, context: string): void {
  expect(String(res.headers['content-type']), context).toMatch(/^application\/scim\+json/);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new Error(`4xx body is not JSON: ${context}`);
  }
  expect(body, context).toMatchObject({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(res.statusCode),
    detail: expect.any(String),
  });
}

/** A log line at error level or above means something broke even if the status did not say so. */
function expectNoErrorLogs(lines: string[], request: FuzzRequest): void {
  const errors = lines.filter((line) => /"level":(5|6)0/.test(line));
  expect(errors, describeRequest(request)).toEqual([]);
}

/** Logout, revocation and a fresh login end the live session: notice, and replace it. */
async function keepSessionAlive(request: FuzzRequest, res: FuzzResponse): Promise<void> {
  const usedSession = me.token !== '' && (request.headers.cookie ?? '').includes(me.token);
  if (!usedSession || request.method === 'GET' || res.statusCode >= 400) return;
  const check = await t.app.inject({
    method: 'GET',
    url: '/api/v1/me',
    headers: { cookie: `gatehouse_session=${me.token}` },
  });
  if (check.statusCode === 401) await refreshSession();
}

const resolveMarkers = (s: string) =>
  s
    .replaceAll(VALID_SESSION, me.token)
    .replaceAll(CURRENT_SESSION_ID, me.sessionId)
    .replaceAll(OWN_ORG_ID, me.orgId)
    .replaceAll(OWN_USER_ID, me.userId);

function materialize(request: FuzzRequest): FuzzRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = resolveMarkers(value);
  const payload = typeof request.payload === 'string' ? resolveMarkers(request.payload) : request.payload;
  return {
    ...request,
    url: resolveMarkers(request.url),
    headers,
    ...(payload === undefined ? {} : { payload }),
  };
}

async function viaInject(spec: FuzzRequest): Promise<void> {
  const request = materialize(spec);
  const logsBefore = t.logs.length;
  const res = await t.app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: request.headers,
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  const response = { statusCode: res.statusCode, headers: res.headers, body: res.body };
  expectContract(request, response);
  expectNoErrorLogs(t.logs.slice(logsBefore), request);
  await keepSessionAlive(request, response);
}

/** Over a real socket, so that paths reach the router exactly as written (inject resolves `..`). */
function viaWire(spec: FuzzRequest): Promise<void> {
  const request = materialize(spec);
  return new Promise<void>((resolve, reject) => {
    const req = http.request(
      {
        ...wireBase,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, connection: 'close' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const body = Buffer.concat(chunks).toString('utf8');
            expectContract(request, { statusCode: res.statusCode ?? 0, headers: res.headers, body });
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    if (request.payload !== undefined) req.write(request.payload);
    req.end();
  });
}

/**
 * The route's url with its parameters naming the fuzzing account's own things, so that body,
 * query and header properties reach the org-scoped handlers instead of stopping at 404.
 */
function ownPath(url: string): string {
  return url
    .replace(':orgId', OWN_ORG_ID)
    .replace(':userId', OWN_USER_ID)
    .replace(':slug', 'developer')
    .replace(':id', '00000000-0000-4000-8000-000000000000');
}

function request(
  target: Target,
  parts: {
    url?: string;
    query?: string | undefined;
    headers?: Record<string, string | undefined>;
    contentType?: string | undefined;
    payload?: string | Buffer | undefined;
    method?: string | undefined;
  },
): FuzzRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) {
    if (value !== undefined) headers[name] = value;
  }
  if (parts.contentType !== undefined) headers['content-type'] = parts.contentType;
  const url = parts.url ?? ownPath(target.url);
  return {
    route: target.url,
    method: parts.method ?? target.method,
    url: parts.query ? `${url}?${parts.query}` : url,
    headers,
    ...(parts.payload === undefined ? {} : { payload: parts.payload }),
  };
}

// ---------------------------------------------------------------------------------------------
// Building blocks that do not depend on the routes
// ---------------------------------------------------------------------------------------------

/** What a real HTTP client can put in a header: printable latin1 and tab (obs-text included). */
const headerChar = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 8 },
  { arbitrary: fc.integer({ min: 0x80, max: 0xff }), weight: 1 },
  { arbitrary: fc.constant(0x09), weight: 1 },
);
const headerText = (maxLength = 80) =>
  fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)), maxLength });

/** Any JS string as a client would send it in a header: UTF-8 bytes read back as latin1, no controls. */
function onTheWire(s: string): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8').toString('latin1')) {
    const c = ch.charCodeAt(0);
    if (c === 0x09 || (c >= 0x20 && c !== 0x7f)) out += ch;
  }
  return out;
}

/** Percent-encodes the UTF-8 bytes of anything (a lone surrogate becomes U+FFFD, as on the wire). */
const encodeBytes = (s: string) =>
  Array.from(Buffer.from(s, 'utf8'), (b) =>
    /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).padStart(2, '0')}`,
  ).join('');

function encodeLoosely(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s; // lone surrogates: send raw and let the URL parser cope
  }
}

const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

const percentBytes = fc
  .uint8Array({ minLength: 1, maxLength: 12 })
  .map((bytes) => Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join(''));

const oddText = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u001f\u007f',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '😀',
  '👩‍👩‍👧‍👦',
  'e\u0301',
  '\u202e\u202d',
  '\ufeff',
  '\uffff',
  'İı',
  'ǅ',
  '\u00a0',
  '\u2028\u2029',
  '\t\r\n',
  '..',
  '../../etc/passwd',
  '..\\..\\windows',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '{{7*7}}',
  '$' + '{jndi:ldap://x}', // log4shell-style text
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'true',
  '[object Object]',
  '__proto__',
  'constructor',
  'NaN',
  '-0',
  '1e308',
);

/** Numbers as text, for query strings and raw JSON: -0, 1e308, overflow, underflow, not-quite numbers. */
const numberText = fc.constantFrom(
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e309',
  '1e400',
  '5e-324',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  'NaN',
  'Infinity',
  '0x10',
  '0b1',
  '1_000',
  ' 5',
  '5 ',
  '00050',
  '200',
  '201',
  '',
);

const uuidLike = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid().map((u) => `urn:uuid:${u}`),
  fc.uuid().map((u) => `{${u}}`),
  fc.uuid().map((u) => u.replaceAll('-', '')),
  fc.uuid().map((u) => `${u}\u0000`),
  fc.uuid().map((u) => `${u} `),
  fc.stringMatching(/^[0-9a-f-]{36}$/),
  fc.constantFrom(
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    OWN_ORG_ID,
    OWN_USER_ID,
    '------------------------------------',
    'gggggggg-gggg-gggg-gggg-gggggggggggg',
    CURRENT_SESSION_ID,
  ),
);

const longText = fc
  .tuple(fc.integer({ min: 150, max: 4000 }), fc.constantFrom('a', '%41', 'é', '😀', '-', '%00', '.'))
  .map(([n, c]) => c.repeat(n));

const anyText = fc.oneof(
  { arbitrary: oddText, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: uuidLike, weight: 2 },
  { arbitrary: longText, weight: 1 },
);

/** Paging cursors that decode into something, nearly, or nothing. */
const cursorText = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom(
          '+275760-09-13T00:00:00.000Z',
          '-271821-04-20T00:00:00.000Z',
          '0000-01-01T00:00:00.000Z',
          '9999-12-31T23:59:59.999Z',
          '2024-02-30T00:00:00Z',
          '2024-01-01 00:00:00',
          '1970',
          'yesterday',
          '',
        ),
        fc.string(),
      ),
      uuidLike,
    )
    .map((pair) => base64url(JSON.stringify(pair))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => base64url(JSON.stringify(v) ?? 'null')),
  fc.base64String({ maxLength: 80 }),
  anyText,
);

/** Strings a body field may carry: real credentials, plausible values, hostile text, huge text. */
const fieldString = fc.oneof(
  { arbitrary: fc.constantFrom(KNOWN_EMAIL, KNOWN_EMAIL.toUpperCase(), STRONG_PASSWORD), weight: 2 },
  { arbitrary: fc.emailAddress(), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 12, maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      'en',
      'es',
      'es-MX',
      'EN-us',
      'x-private',
      'i-klingon',
      'en-u-ca-gregory',
      'zh-Hant-TW',
      'und',
      'root',
      'Europe/Madrid',
      'europe/madrid',
      'UTC',
      'Etc/UTC',
      '123456',
      '12345678',
      'passwordpassword',
      `${'A'.repeat(250)}@example.test`,
    ),
    weight: 2,
  },
  { arbitrary: anyText, weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('x', 'é', '😀'))
      .map(([n, c]) => c.repeat(n)),
    weight: 1,
  },
);

const notJsonText = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '{"email": ',
    '{"a":1,}',
    "{'a':1}",
    '{"a":1}garbage',
    '{"a":1}{"b":2}',
    '// comment\n{}',
    '\ufeff{}',
    '\ufeff\ufeff{}',
    'NaN',
    '-',
    '01',
    '.5',
    '1e',
    '"\\ud800"',
    '"\\u0000"',
    '"\\x41"',
    '{"a":"\\uZZZZ"}',
    'nul',
    'undefined',
    '\u0000',
    '[,]',
    'email=a@b.io&password=x',
    '<xml/>',
  ),
);

const contentType = fc.oneof(
  fc.constantFrom(
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data',
    'application/xml',
    'application/octet-stream',
    'application/problem+json',
    'application/vnd.api+json',
    'application/json-patch+json',
    'APPLICATION/JSON',
    'Application/Json; Charset=UTF-8',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json;;',
    'application/json; charset',
    'application/json, text/plain',
    'application/jsonx',
    'application/',
    '/json',
    'json',
    '*/*',
    '',
    ';',
  ),
  headerText(60),
);

const garbageToken = fc
  .oneof(
    fc.string({ minLength: 20, maxLength: 128 }),
    fc.base64String({ minLength: 40, maxLength: 48 }),
    fc.string({ unit: 'binary', maxLength: 150 }),
    longText,
    fc.constantFrom('', '=', '"', '%', '%zz', '%E0%A4%A', '"quoted"', 'a'.repeat(43)),
  )
  .map(onTheWire);

/** The Cookie header: none, the live session, a forged one, garbage, or the live one among garbage. */
const cookieHeader = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.constant(`gatehouse_session=${VALID_SESSION}`), weight: 4 },
  { arbitrary: garbageToken.map((v) => `gatehouse_session=${v}`), weight: 2 },
  { arbitrary: garbageToken.map((v) => `gatehouse_device=${v}`), weight: 1 },
  { arbitrary: headerText(200), weight: 1 },
  {
    arbitrary: fc
      .tuple(headerText(100), fc.boolean())
      .map(([junk, first]) =>
        first ? `${junk}; gatehouse_session=${VALID_SESSION}` : `gatehouse_session=${VALID_SESSION}; ${junk}`,
      ),
    weight: 1,
  },
  {
    arbitrary: garbageToken.map((v) => `gatehouse_session=${v}; gatehouse_session=${VALID_SESSION}`),
    weight: 1,
  },
);

const originHeader = fc.oneof(
  { arbitrary: fc.constant(ORIGIN), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      'null',
      `${ORIGIN}/`,
      'http://localhost:3000.evil.test',
      'HTTP://LOCALHOST:3000',
      'http://localhost',
      'https://localhost:3000',
      'http://127.0.0.1:3000',
      'http://evil.test',
    ),
    weight: 2,
  },
  { arbitrary: fc.webUrl(), weight: 1 },
  { arbitrary: headerText(), weight: 1 },
);

const fuzzHeaders = fc.record(
  {
    cookie: cookieHeader,
    origin: originHeader,
    referer: fc.oneof(fc.webUrl(), fc.constant(`${ORIGIN}/x`), headerText()),
    'sec-fetch-site': fc.oneof(
      fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'),
      headerText(20),
    ),
    authorization: fc.oneof(
      fc.constantFrom('Bearer ', 'Bearer', 'Basic Zm9vOmJhcg==', 'Bearer gh_xxx', 'Negotiate'),
      garbageToken.map((v) => `Bearer ${v}`),
      headerText(200),
    ),
    'x-request-id': fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
      fc.constantFrom('a'.repeat(65), '../x', 'id with spaces', ''),
      headerText(100),
    ),
    host: fc.oneof(
      fc.constantFrom('localhost:3000', 'evil.test', '[::1]:3000', 'localhost:99999', '', 'a b', '@'),
      headerText(60),
    ),
    'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), headerText()),
    'x-forwarded-proto': fc.oneof(fc.constantFrom('https', 'http', 'gopher'), headerText(20)),
    'x-forwarded-host': headerText(60),
    'user-agent': fc.oneof(headerText(200), longText.map(onTheWire)),
    accept: fc.oneof(fc.constantFrom('application/json', 'text/html', '*/*', 'image/*;q=0'), headerText()),
    'accept-language': headerText(60),
    'accept-encoding': fc.oneof(fc.constantFrom('gzip', 'br', 'identity;q=0', '*;q=0'), headerText(40)),
    'if-none-match': fc.oneof(fc.constantFrom('*', 'W/"x"', '"abc"'), headerText(60)),
    'if-match': fc.oneof(fc.constantFrom('*', '"nope"', 'W/"x"'), headerText(40)),
    'if-unmodified-since': fc.oneof(
      fc.constantFrom('Thu, 01 Jan 1970 00:00:00 GMT', 'garbage'),
      headerText(40),
    ),
    'if-modified-since': fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
      fc.constantFrom('Thu, 01 Jan 1970 00:00:00 GMT', 'yesterday'),
      headerText(40),
    ),
    range: fc.oneof(
      fc.constantFrom(
        'bytes=0-0',
        'bytes=-1',
        'bytes=999999999-',
        'bytes=5-1',
        'bytes=0-1,2-3,4-5',
        'items=0-9',
      ),
      headerText(40),
    ),
  },
  { requiredKeys: [] },
);

/** A path parameter's value: uuids odd and valid, traversal, %-encodings, unicode, very long text. */
const paramValue = fc.oneof(
  { arbitrary: fc.constantFrom(OWN_ORG_ID, OWN_USER_ID), weight: 6 },
  { arbitrary: uuidLike, weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '...',
      '%2e%2e',
      '%2E%2E%2F',
      '..%2f..%2fetc%2fpasswd',
      '..%5c..%5c',
      '%00',
      '%ff',
      '%c0%af',
      '%e0%80%af',
      '%c0%ae%c0%ae',
      '%',
      '%%',
      '%zz',
      '%u0000',
      '%25',
      '%2f',
      '%5c',
      '%0d%0aSet-Cookie:%20x=1',
      ';jsessionid=1',
      'index.html',
      'swagger-initializer.js',
      'swagger-ui.css',
      'swagger-ui-bundle.js',
      'favicon-32x32.png',
      '../package.json',
      '..//..//',
    ),
    weight: 4,
  },
  { arbitrary: percentBytes, weight: 2 },
  { arbitrary: anyText, weight: 3 },
  { arbitrary: longText, weight: 1 },
);

/** Values for `:params` and the `*` wildcard, each sent raw or percent-encoded. */
const pathParams = fc.array(fc.tuple(paramValue, fc.boolean()), { minLength: 1, maxLength: 4 });

/** The route's url with each `:param` (and the `*` wildcard) replaced. */
function fillPath(url: string, values: [string, boolean][]): string {
  let i = 0;
  const next = (wildcard: boolean) => {
    const [value, encode] = values[i++ % values.length]!;
    if (!encode) return value;
    return wildcard ? value.split('/').map(encodeLoosely).join('/') : encodeLoosely(value);
  };
  return url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? next(false) : segment === '*' ? next(true) : segment))
    .join('/');
}

/**
 * The Cookie header of a well-behaved client: mostly the live session on routes that need one
 * (anonymous requests stop at the authentication hook, before the body is even read), half and
 * half on public routes.
 */
const sessionFor = (target: Target) =>
  fc
    .integer({ min: 1, max: 100 })
    .map((n) =>
      n <= (target.access === 'public' ? 50 : 85) ? `gatehouse_session=${VALID_SESSION}` : undefined,
    );
/** Our own origin on state-changing requests, to get past the CSRF check to the handler. */
const ownOrigin = (target: Target) => (UNSAFE.has(target.method) ? ORIGIN : undefined);

/**
 * Values that satisfy a schema: what a well-behaved client sends. Mixed with hostile values, they
 * carry requests past validation into the handlers (and the database) instead of stopping at 400.
 */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'string':
      return stringFromSchema(schema);
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
    case 'object':
      return objectFromSchema(schema, (s) => fromSchema(s, depth + 1));
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringFromSchema(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 10_000;
  const fits = (v: string) => v.length >= min && v.length <= max;
  if (schema.format === 'email') return fc.emailAddress().filter(fits);
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'date-time') {
    return fc
      .date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  }
  if (schema.pattern !== undefined) {
    // stringMatching draws short strings: a long minimum (tokens) would reject nearly every draw
    // and stall generation. Repeat a short match up to the minimum instead (repetition keeps most
    // patterns matching; one that no longer does is a fine hostile input anyway).
    return fc
      .stringMatching(new RegExp(schema.pattern))
      .map((v) => {
        const long = v.length > 0 && v.length < min ? v.repeat(Math.ceil(min / v.length)) : v;
        return long.length > max ? long.slice(0, max) : long;
      })
      .filter(fits);
  }
  return fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.max(min, Math.min(max, 48)) });
}

function objectFromSchema(
  schema: JsonSchema,
  value: (s: JsonSchema) => fc.Arbitrary<unknown>,
): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = (schema.required ?? []).filter((k) => k in properties);
  return fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, value(s)])), {
    requiredKeys: required,
  });
}

// ---------------------------------------------------------------------------------------------
// Building blocks that use the routes' own vocabulary (built once the app is up)
// ---------------------------------------------------------------------------------------------

function routeArbitraries() {
  const union = (pick: (t: Target) => string[], fallback: string) => {
    const all = [...new Set(targets.flatMap(pick))];
    return all.length > 0 ? all : [fallback];
  };
  const allFields = union((x) => x.bodyFields, 'name');
  const allQueryKeys = union((x) => x.queryKeys, 'limit');

  /** JSON as text, not values: so that -0, 1e400, duplicate keys and escaped lone surrogates survive. */
  const memberKey = fc
    .oneof(
      { arbitrary: fc.constantFrom(...allFields), weight: 4 },
      { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'admin', ''), weight: 1 },
      { arbitrary: anyText, weight: 1 },
    )
    .map((k) => JSON.stringify(k));
  const { json: hostileJson } = fc.letrec<{ json: string; member: string }>((tie) => ({
    json: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fieldString.map((s) => JSON.stringify(s)),
      numberText.filter((n) => /^-?[0-9]/.test(n)),
      fc.constantFrom('true', 'false', 'null', '""', '{}', '[]'),
      fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
      fc.array(tie('member'), { maxLength: 5 }).map((members) => `{${members.join(',')}}`),
    ),
    member: fc.tuple(memberKey, tie('json')).map(([k, v]) => `${k}:${v}`),
  }));

  /**
   * Objects shaped by the route's own body schema: required fields present, each value valid by
   * the schema or drawn from the hostile pool. Many of these pass validation and reach the handler.
   */
  const plausibleBody = (x: Target) =>
    (x.body?.properties
      ? objectFromSchema(x.body, (s) =>
          fc.oneof({ arbitrary: fromSchema(s), weight: 3 }, { arbitrary: fieldString, weight: 1 }),
        )
      : fc.dictionary(fc.constantFrom(...allFields), fieldString, { maxKeys: 4 })
    ).map((o) => JSON.stringify(o));

  const deeplyNested = fc
    .tuple(fc.integer({ min: 10, max: 60_000 }), fc.constantFrom('array', 'object', 'proto'))
    .map(([depth, kind]) => {
      if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
      if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return `${'{"a":'.repeat(depth)}{"__proto__":{"x":1}}${'}'.repeat(depth)}`;
    });

  const hugeString = fc
    .tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom(...allFields, 'x'))
    .map(([n, field]) => JSON.stringify({ [field]: 'a'.repeat(n) }));

  const jsonBody = (x: Target) =>
    fc.oneof(
      { arbitrary: plausibleBody(x), weight: 8 },
      { arbitrary: hostileJson, weight: 5 },
      { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 3 },
      { arbitrary: fc.anything().map((v) => JSON.stringify(v) ?? 'null'), weight: 2 },
      {
        arbitrary: fc.array(plausibleBody(x), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
        weight: 1,
      },
      { arbitrary: deeplyNested, weight: 1 },
      { arbitrary: hugeString, weight: 1 },
    );

  const notJson = (x: Target) =>
    fc.oneof(
      { arbitrary: notJsonText, weight: 4 },
      { arbitrary: jsonBody(x).map((s) => s.slice(0, Math.max(0, s.length - 1))), weight: 1 }, // truncated
      { arbitrary: jsonBody(x).map((s) => Buffer.from(s, 'utf16le')), weight: 1 },
      { arbitrary: jsonBody(x).map((s) => Buffer.from(s, 'latin1')), weight: 1 },
    );

  const queryKey = (x: Target) =>
    fc.oneof(
      { arbitrary: fc.constantFrom(...(x.queryKeys.length > 0 ? x.queryKeys : allQueryKeys)), weight: 6 },
      { arbitrary: fc.constantFrom(...allQueryKeys).map((k) => `${k}[]`), weight: 1 },
      { arbitrary: fc.constantFrom(...allQueryKeys).map((k) => `${k}[0]`), weight: 1 },
      { arbitrary: fc.constantFrom(...allQueryKeys).map((k) => k.toUpperCase()), weight: 1 },
      { arbitrary: fc.constantFrom(...allQueryKeys).map((k) => `${k}%00`), weight: 1 },
      {
        arbitrary: fc.constantFrom(
          'a[b][c]',
          '__proto__',
          '__proto__[admin]',
          'constructor[prototype][admin]',
          'toString',
          'hasOwnProperty',
          '',
          '%00',
          '%ff',
        ),
        weight: 2,
      },
      { arbitrary: anyText, weight: 1 },
    );
  const queryValue = fc.oneof(
    { arbitrary: numberText, weight: 3 },
    { arbitrary: cursorText, weight: 3 },
    { arbitrary: anyText, weight: 2 },
    { arbitrary: percentBytes, weight: 1 },
    { arbitrary: fc.integer({ min: 1_000, max: 60_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
  );
  /** Raw query strings: duplicate keys, `k[]` arrays, bare keys, raw or percent-encoded. */
  const messyQuery = (x: Target) =>
    fc
      .array(fc.tuple(queryKey(x), queryValue, fc.constantFrom('raw', 'encoded', 'bare')), { maxLength: 8 })
      .map((pairs) =>
        pairs
          .map(([k, v, how]) =>
            how === 'bare' ? k : how === 'encoded' ? `${encodeLoosely(k)}=${encodeLoosely(v)}` : `${k}=${v}`,
          )
          .join('&'),
      );
  /** Each declared key at most once, well encoded, valid by its schema or hostile. */
  const tidyQuery = (x: Target) =>
    (x.queryKeys.length > 0
      ? objectFromSchema({ properties: x.query }, (s) =>
          fc.oneof(
            { arbitrary: fromSchema(s).map((v) => String(v)), weight: 2 },
            { arbitrary: queryValue, weight: 1 },
          ),
        )
      : fc.dictionary(fc.constantFrom(...allQueryKeys), queryValue, { maxKeys: 3 })
    ).map((o) => new URLSearchParams(o as Record<string, string>).toString());
  const queryString = (x: Target) =>
    fc.oneof({ arbitrary: tidyQuery(x), weight: 1 }, { arbitrary: messyQuery(x), weight: 1 });

  /**
   * A route, something drawn in its own vocabulary, and a session cookie suited to it. `weight`
   * favours the routes that have something to fuzz (a body, a query), so every property reaches
   * the handlers often.
   */
  const on = <T>(make: (x: Target) => fc.Arbitrary<T>, weight: (x: Target) => number = () => 1) =>
    fc
      .oneof(...targets.map((x) => ({ arbitrary: fc.constant(x), weight: weight(x) })))
      .chain((x) => fc.tuple(fc.constant(x), make(x), sessionFor(x)));
  const hasBody = (x: Target) => (x.bodyFields.length > 0 ? 3 : 1);
  const hasQuery = (x: Target) => (x.queryKeys.length > 0 ? 4 : 1);
  const hasParams = (x: Target) => (x.url.includes(':') || x.url.includes('*') ? 1 : 0);

  /** Routes that page with an opaque `cursor`: forged cursors are decoded server-side. */
  const paged = targets.filter((x) => x.queryKeys.includes('cursor'));

  return { on, hasBody, hasQuery, hasParams, paged, jsonBody, notJson, plausibleBody, queryString };
}

let memo: ReturnType<typeof routeArbitraries> | undefined;
const arbitraries = () => {
  memo ??= routeArbitraries();
  return memo;
};

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('fuzzing every route in the inventory', () => {
  it('knows every route in the inventory, with the vocabulary of its schema', () => {
    expect(targets.length).toBe(t.app.gatehouse.routes.length);
    expect(targets.some((x) => x.url.includes(':'))).toBe(true);
    expect(targets.some((x) => isDocs(x.url))).toBe(true);
    expect(targets.some((x) => x.bodyFields.length > 0)).toBe(true);
    expect(targets.some((x) => x.queryKeys.length > 0)).toBe(true);
    expect(arbitraries().paged.length).toBeGreaterThan(0);
  });

  // Two body generators, one property each: JSON that is hostile in shape, and text that is not JSON.
  for (const [title, pick] of [
    ['random and hostile JSON bodies', 'jsonBody'],
    ['bodies that are not JSON at all, sent as application/json', 'notJson'],
  ] as const) {
    it(
      title,
      async () => {
        const a = arbitraries();
        await fc.assert(
          fc.asyncProperty(a.on(a[pick], a.hasBody), async ([target, payload, cookie]) => {
            await viaInject(
              request(target, {
                headers: { cookie, origin: ownOrigin(target) },
                contentType: 'application/json',
                payload,
              }),
            );
          }),
          fcOptions(),
        );
      },
      PROPERTY_TIMEOUT,
    );
  }

  it(
    'wrong, odd or missing content types',
    async () => {
      const a = arbitraries();
      await fc.assert(
        fc.asyncProperty(
          a.on((x) => fc.oneof(a.jsonBody(x), a.notJson(x)), a.hasBody),
          fc.option(contentType, { nil: undefined }),
          async ([target, payload, cookie], type) => {
            await viaInject(
              request(target, {
                headers: { cookie, origin: ownOrigin(target) },
                contentType: type,
                payload,
              }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random path parameters: traversal, %-encodings, odd unicode, very long values',
    async () => {
      const a = arbitraries();
      await fc.assert(
        fc.asyncProperty(
          a.on(() => pathParams, a.hasParams),
          async ([target, params, cookie]) => {
            await viaInject(
              request(target, {
                url: fillPath(target.url, params),
                headers: { cookie, origin: ownOrigin(target) },
              }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random path parameters and suffixes on the wire, where `..` is not resolved first',
    async () => {
      const a = arbitraries();
      // Printable ASCII goes as written (`..`, `%zz`, `/`), anything else as %-encoded UTF-8 bytes;
      // inject would have resolved `..` before the router saw it.
      const wirePath = (target: Target, params: [string, boolean][], suffix: string) =>
        `${fillPath(
          target.url,
          params.map(([v, encode]) => [!encode && /^[\x21-\x7e]*$/.test(v) ? v : encodeBytes(v), false]),
        )}${suffix}`;
      const suffix = fc.constantFrom(
        '',
        '/',
        '//',
        '/..',
        '/../..',
        '/./',
        '/%2e%2e/',
        '/..%2f',
        '/%00',
        '/.',
        '?',
        ';x',
      );
      await fc.assert(
        fc.asyncProperty(
          a.on(() => fc.tuple(pathParams, suffix)),
          async ([target, [params, end], cookie]) => {
            await viaWire(
              request(target, {
                url: wirePath(target, params, end),
                headers: { cookie, origin: ownOrigin(target) },
              }),
            );
          },
        ),
        fcOptions(Math.ceil(RUNS / 2)),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random query strings: duplicate keys, arrays, nested keys, odd unicode, huge values',
    async () => {
      const a = arbitraries();
      await fc.assert(
        fc.asyncProperty(a.on(a.queryString, a.hasQuery), async ([target, query, cookie]) => {
          await viaInject(request(target, { query, headers: { cookie, origin: ownOrigin(target) } }));
        }),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'forged paging cursors, signed in, on every route that pages',
    async () => {
      const a = arbitraries();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...a.paged),
          cursorText,
          fc.option(numberText, { nil: undefined }),
          async (target, cursor, limit) => {
            const query = new URLSearchParams({ cursor, ...(limit === undefined ? {} : { limit }) });
            await viaInject(
              request(target, {
                query: query.toString(),
                headers: { cookie: `gatehouse_session=${VALID_SESSION}`, origin: ownOrigin(target) },
              }),
            );
          },
        ),
        fcOptions(Math.ceil(RUNS / 2)),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random headers and cookies, with and without a live session, from our origin and foreign ones',
    async () => {
      const a = arbitraries();
      await fc.assert(
        fc.asyncProperty(
          a.on((x) => fc.option(a.plausibleBody(x), { nil: undefined }), a.hasBody),
          fuzzHeaders,
          async ([target, payload], headers) => {
            await viaInject(
              request(target, {
                headers,
                ...(payload === undefined ? {} : { contentType: 'application/json', payload }),
              }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'everything at once, with any method on any route url',
    async () => {
      const a = arbitraries();
      const method = fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        {
          arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'),
          weight: 1,
        },
      );
      await fc.assert(
        fc.asyncProperty(
          a.on((x) =>
            fc.record({
              method,
              params: pathParams,
              query: fc.option(a.queryString(x), { nil: undefined }),
              type: fc.option(contentType, { nil: undefined, freq: 2 }),
              payload: fc.option(fc.oneof(a.jsonBody(x), a.notJson(x)), { nil: undefined }),
            }),
          ),
          fuzzHeaders,
          async ([target, r], headers) => {
            await viaInject(
              request(target, {
                method: r.method,
                url: fillPath(target.url, r.params),
                query: r.query,
                headers,
                payload: r.payload,
                contentType: r.payload === undefined ? undefined : (r.type ?? 'application/json'),
              }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('leaves the server healthy: nothing logged at error level, the probes answer', async () => {
    const errors = t.logs.filter((line) => /"level":(5|6)0/.test(line));
    expect(errors).toEqual([]);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });
});
