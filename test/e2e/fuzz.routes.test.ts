import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES, problemType } from '../../src/contracts/problems.ts';
import type { RouteInventoryEntry } from '../../src/server/platform/http/route-policy.ts';
import { createTestApp, ORIGIN, STRONG_PASSWORD, signUp, type TestApp } from '../support/app.ts';

/**
 * Property-based fuzzing of every route in the live route inventory (`app.gatehouse.routes`).
 * Whatever arrives — random or malformed JSON, non-JSON, wrong content types, odd path
 * parameters, hostile query strings, headers and cookies, signed in or not — the answer is never
 * a 5xx, and every 4xx is an RFC 9457 problem document whose `status` matches the HTTP status.
 *
 * fast-check prints the seed and the shrunk counterexample on failure; rerun one with
 * `FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz.routes.test.ts`.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
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
/** The fuzzing account's email, fixed up front so arbitraries can offer the real credentials. */
const KNOWN_EMAIL = `fuzz-${process.pid}-${Date.now().toString(36)}@example.test`;

let t: TestApp;
let routes: RouteInventoryEntry[];
let wireBase: { host: string; port: number };
const me = { token: '', sessionId: '', refreshed: 0 };

async function adoptSession(cookie: string): Promise<void> {
  me.token = cookie.slice('gatehouse_session='.length);
  const list = await t.app.inject({ method: 'GET', url: '/api/v1/me/sessions', headers: { cookie } });
  expect(list.statusCode).toBe(200);
  me.sessionId = list.json().items.find((s: { current: boolean }) => s.current).id;
}

/** A fresh signed-in session, for when fuzzing ended the previous one (logout, revoke, re-login). */
async function refreshSession(): Promise<void> {
  me.refreshed++;
  await adoptSession((await signUp(t.app)).cookie);
}

beforeAll(async () => {
  t = await createTestApp();
  routes = t.app.gatehouse.routes;
  await adoptSession((await signUp(t.app, { email: KNOWN_EMAIL })).cookie);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address() as AddressInfo;
  wireBase = { host: address.address, port: address.port };
});

afterAll(async () => {
  await t?.close();
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

const resolveMarkers = (s: string) =>
  s.replaceAll(VALID_SESSION, me.token).replaceAll(CURRENT_SESSION_ID, me.sessionId);

const describeRequest = (r: FuzzRequest, res?: FuzzResponse) => {
  const payload =
    r.payload === undefined
      ? undefined
      : Buffer.isBuffer(r.payload)
        ? `<${r.payload.length} bytes>`
        : r.payload.length > 300
          ? `${r.payload.slice(0, 300)}… (${r.payload.length} chars)`
          : r.payload;
  const url = r.url.length > 300 ? `${r.url.slice(0, 300)}… (${r.url.length} chars)` : r.url;
  return JSON.stringify({
    method: r.method,
    url,
    headers: r.headers,
    payload,
    status: res?.statusCode,
    contentType: res?.headers['content-type'],
    body: res?.body.slice(0, 500),
  });
};

/** No 5xx, ever; a 4xx is an RFC 9457 problem document (the swagger UI's static files excepted). */
function expectContract(request: FuzzRequest, res: FuzzResponse): void {
  const context = describeRequest(request, res);
  expect(res.statusCode, context).toBeLessThan(500);
  if (res.statusCode < 400) return;
  // /docs/* is @fastify/swagger-ui serving files through @fastify/static (`send`): its own 4xx
  // answers (e.g. 416 for an unsatisfiable Range) are written by that library, not by our error
  // handler, so for those routes only "never 5xx" is asserted.
  if (isDocs(request.route)) return;
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
  expect(problem.type, context).toBe(problemType(problem.code as (typeof PROBLEM_CODES)[number]));
}

/** The valid session is ended by logout, revocation and re-login: notice and replace it. */
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

function materialize(request: FuzzRequest): FuzzRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = resolveMarkers(value);
  return { ...request, url: resolveMarkers(request.url), headers };
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

/** Over a real socket, so that paths reach the router exactly as written (inject normalizes `..`). */
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
            const response = {
              statusCode: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            };
            expectContract(request, response);
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

/** A log line at error level (50) or above means something went wrong even if the status did not say so. */
function expectNoErrorLogs(lines: string[], request: FuzzRequest): void {
  const errors = lines.filter((line) => /"level":(5|6)0/.test(line));
  expect(errors, describeRequest(request)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

/** What a real HTTP client can put in a header: printable latin1 and tab (obs-text included). */
const headerChar = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 8 },
  { arbitrary: fc.integer({ min: 0x80, max: 0xff }), weight: 1 },
  { arbitrary: fc.constant(0x09), weight: 1 },
);
const headerText = (maxLength = 80) =>
  fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)), maxLength });

/** Any JS string as a client would put it in a header: UTF-8 bytes, read back as latin1, no controls. */
function onTheWire(s: string): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8').toString('latin1')) {
    const c = ch.charCodeAt(0);
    if (c === 0x09 || (c >= 0x20 && c !== 0x7f)) out += ch;
  }
  return out;
}

function encodeLoosely(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s; // lone surrogates: send raw and let the URL parser cope
  }
}

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
  '${jndi:ldap://x}',
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

const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** Cursors that decode into something, nearly, or nothing. */
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

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

const FIELDS = [
  'email',
  'password',
  'name',
  'totp',
  'locale',
  'timezone',
  'currentPassword',
  'newPassword',
] as const;

/** Strings a body field may carry: real credentials, plausible values, hostile text, huge text. */
const fieldString = fc.oneof(
  { arbitrary: fc.constantFrom(KNOWN_EMAIL, KNOWN_EMAIL.toUpperCase(), STRONG_PASSWORD), weight: 2 },
  { arbitrary: fc.emailAddress(), weight: 2 },
  {
    arbitrary: fc.string({ unit: 'grapheme', minLength: 12, maxLength: 40 }),
    weight: 2,
  },
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
    arbitrary: fc.tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('x', 'é', '😀')),
    weight: 1,
  },
).map((v) => (Array.isArray(v) ? v[1].repeat(v[0]) : v));

/** JSON text, not values: so that -0, 1e400, duplicate keys and escaped lone surrogates survive. */
const jsonString = (s: string) => JSON.stringify(s);
const { json: hostileJson } = fc.letrec<{ json: string; member: [string, string] }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fieldString.map(jsonString),
    numberText.filter((n) => /^-?[0-9]/.test(n)),
    fc.constantFrom('true', 'false', 'null', '""', '{}', '[]'),
    fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc.array(tie('member'), { maxLength: 5 }).map((members) => `{${members.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  ),
  member: fc.tuple(
    fc
      .oneof(
        { arbitrary: fc.constantFrom(...FIELDS), weight: 4 },
        { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'admin', ''), weight: 1 },
        { arbitrary: anyText, weight: 1 },
      )
      .map(jsonString),
    tie('json'),
  ),
}));

/** Objects with the routes' own field names, mostly strings: these reach the handlers. */
const plausibleBody = fc
  .dictionary(fc.constantFrom(...FIELDS), fieldString, { maxKeys: FIELDS.length })
  .map((o) => JSON.stringify(o));

const deeplyNested = fc
  .tuple(fc.integer({ min: 10, max: 60_000 }), fc.constantFrom('array', 'object', 'proto'))
  .map(([depth, kind]) => {
    if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `${'{"a":'.repeat(depth)}{"__proto__":{"x":1}}${'}'.repeat(depth)}`;
  });

const hugeString = fc
  .tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom('email', 'name', 'password', 'x'))
  .map(([n, field]) => JSON.stringify({ [field]: 'a'.repeat(n) }));

const jsonBodyText = fc.oneof(
  { arbitrary: plausibleBody, weight: 5 },
  { arbitrary: hostileJson, weight: 5 },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 3 },
  { arbitrary: fc.anything().map((v) => JSON.stringify(v) ?? 'null'), weight: 2 },
  {
    arbitrary: fc.array(plausibleBody, { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    weight: 1,
  },
  { arbitrary: deeplyNested, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
);

const notJson = fc.oneof(
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
  jsonBodyText.map((s) => s.slice(0, Math.max(0, s.length - 1))), // truncated
  jsonBodyText.map((s) => Buffer.from(s, 'utf16le')),
  jsonBodyText.map((s) => Buffer.from(s, 'latin1')),
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

// ---------------------------------------------------------------------------------------------
// Sessions, headers, paths and queries
// ---------------------------------------------------------------------------------------------

const garbageToken = fc
  .oneof(
    fc.string({ minLength: 20, maxLength: 128 }),
    fc.base64String({ minLength: 40, maxLength: 48 }),
    fc.string({ unit: 'binary', maxLength: 150 }),
    longText,
    fc.constantFrom('', '=', '"', '%', '%zz', '%E0%A4%A', '"quoted"', `${'a'.repeat(43)}`),
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
    'sec-fetch-site': fc.oneof(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'), headerText(20)),
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
    'if-modified-since': fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
      fc.constantFrom('Thu, 01 Jan 1970 00:00:00 GMT', 'yesterday'),
      headerText(40),
    ),
    range: fc.oneof(
      fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=999999999-', 'bytes=5-1', 'bytes=0-1,2-3,4-5', 'items=0-9'),
      headerText(40),
    ),
  },
  { requiredKeys: [] },
);

/** A path parameter's value: uuids odd and valid, traversal, %-encodings, unicode, very long text. */
const paramValue = fc.oneof(
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

const pathParams = fc.array(fc.tuple(paramValue, fc.boolean()), { minLength: 1, maxLength: 4 });

/** The route's url with each `:param` (and the `*` wildcard) replaced, raw or percent-encoded. */
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

const queryKey = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'limit',
      'cursor',
      'limit[]',
      'cursor[]',
      'limit[0]',
      'a[b][c]',
      '__proto__',
      '__proto__[admin]',
      'constructor[prototype][admin]',
      'toString',
      'hasOwnProperty',
      '',
      '%00',
      '%ff',
      'limit%00',
      'LIMIT',
    ),
    weight: 4,
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
const queryString = fc
  .array(fc.tuple(queryKey, queryValue, fc.constantFrom('raw', 'encoded', 'bare')), { maxLength: 8 })
  .map((pairs) =>
    pairs
      .map(([k, v, how]) =>
        how === 'bare' ? k : how === 'encoded' ? `${encodeLoosely(k)}=${encodeLoosely(v)}` : `${k}=${v}`,
      )
      .join('&'),
  );

const route = () => fc.constantFrom(...routes);

function request(
  entry: RouteInventoryEntry,
  parts: {
    url?: string;
    query?: string;
    headers?: Record<string, string | undefined>;
    contentType?: string;
    payload?: string | Buffer;
    method?: string;
  },
): FuzzRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) if (value !== undefined) headers[name] = value;
  if (parts.contentType !== undefined) headers['content-type'] = parts.contentType;
  const url = parts.url ?? entry.url;
  return {
    route: entry.url,
    method: parts.method ?? entry.method,
    url: parts.query ? `${url}?${parts.query}` : url,
    headers,
    ...(parts.payload === undefined ? {} : { payload: parts.payload }),
  };
}

/** The usual way in: our own origin on state-changing requests, and sometimes the live session. */
const signedInOrNot = fc.boolean().map((signedIn) => (signedIn ? `gatehouse_session=${VALID_SESSION}` : undefined));
const ownOrigin = (entry: RouteInventoryEntry) => (UNSAFE.has(entry.method) ? ORIGIN : undefined);

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('fuzzing every route in the inventory', () => {
  it('the inventory lists the routes this file expects to fuzz', () => {
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.some((r) => r.url.includes(':'))).toBe(true);
    expect(routes.some((r) => isDocs(r.url))).toBe(true);
  });

  it(
    'random and hostile JSON bodies never cause a 5xx, and 4xx answers are problem documents',
    async () => {
      await fc.assert(
        fc.asyncProperty(route(), jsonBodyText, signedInOrNot, async (entry, payload, cookie) => {
          await viaInject(
            request(entry, {
              headers: { cookie, origin: ownOrigin(entry) },
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

  it(
    'bodies that are not JSON at all, sent as application/json',
    async () => {
      await fc.assert(
        fc.asyncProperty(route(), notJson, signedInOrNot, async (entry, payload, cookie) => {
          await viaInject(
            request(entry, {
              headers: { cookie, origin: ownOrigin(entry) },
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

  it(
    'wrong, odd or missing content types',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          route(),
          fc.option(contentType, { nil: undefined }),
          fc.oneof(jsonBodyText, notJson),
          signedInOrNot,
          async (entry, type, payload, cookie) => {
            await viaInject(
              request(entry, {
                headers: { cookie, origin: ownOrigin(entry) },
                ...(type === undefined ? {} : { contentType: type }),
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
    'random path parameters, including traversal, %-encodings, odd unicode and very long values',
    async () => {
      const withParams = routes.filter((r) => r.url.includes(':') || r.url.includes('*'));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...withParams),
          pathParams,
          signedInOrNot,
          async (entry, params, cookie) => {
            await viaInject(
              request(entry, { url: fillPath(entry.url, params), headers: { cookie, origin: ownOrigin(entry) } }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random path suffixes and parameters on the wire, where `..` is not normalized away',
    async () => {
      // A real client may send any of 0x21-0xff in the path; inject would resolve `..` first.
      const wirePath = (entry: RouteInventoryEntry, params: [string, boolean][], suffix: string) => {
        const filled = fillPath(entry.url, params.map(([v]) => [v, true]));
        const raw = params.map(([v]) => v).find((v) => /^[\x21-\x7e]+$/.test(v));
        return `${filled}${suffix}${raw && !filled.includes(raw) ? `/${raw}` : ''}`;
      };
      await fc.assert(
        fc.asyncProperty(
          route(),
          pathParams,
          fc.constantFrom('', '/', '//', '/..', '/../..', '/./', '/%2e%2e/', '/..%2f', '/%00', '/.', '?', '#x', ';x'),
          signedInOrNot,
          async (entry, params, suffix, cookie) => {
            await viaWire(
              request(entry, {
                url: wirePath(entry, params, suffix),
                headers: { cookie, origin: ownOrigin(entry) },
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
    'random query strings: duplicate keys, arrays, nested keys, odd unicode and huge values',
    async () => {
      await fc.assert(
        fc.asyncProperty(route(), queryString, signedInOrNot, async (entry, query, cookie) => {
          await viaInject(request(entry, { query, headers: { cookie, origin: ownOrigin(entry) } }));
        }),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'random headers and cookies, with and without a live session and from foreign origins',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          route(),
          fuzzHeaders,
          fc.option(plausibleBody, { nil: undefined }),
          async (entry, headers, payload) => {
            await viaInject(
              request(entry, {
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
      await fc.assert(
        fc.asyncProperty(
          route(),
          fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 3 },
            {
              arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'),
              weight: 1,
            },
          ),
          pathParams,
          fc.option(queryString, { nil: undefined }),
          fuzzHeaders,
          fc.option(fc.tuple(fc.option(contentType, { nil: undefined }), fc.oneof(jsonBodyText, notJson)), {
            nil: undefined,
          }),
          async (entry, method, params, query, headers, body) => {
            await viaInject(
              request(entry, {
                ...(method === undefined ? {} : { method }),
                url: fillPath(entry.url, params),
                ...(query === undefined ? {} : { query }),
                headers,
                ...(body === undefined
                  ? {}
                  : { payload: body[1], ...(body[0] === undefined ? {} : { contentType: body[0] }) }),
              }),
            );
          },
        ),
        fcOptions(),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('left the server healthy: no error logged, the probes answer', async () => {
    const errors = t.logs.filter((line) => /"level":(5|6)0/.test(line));
    expect(errors).toEqual([]);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });
});
