// SCIM resources as the wire carries them (RFC 7643), and the request shapes IdPs send (RFC 7644):
// reading a User or Group body, filters (scim2-parse-filter), PATCH (scim-patch), attribute
// projection, and the SCIM error document.

import { type ScimPatchOperation, scimPatch } from 'scim-patch';
import { type Filter, Tester } from 'scim2-parse-filter';
// The library's own tokenizer and parser, for the one rewrite its `parse` gets wrong (readFilter).
import { parseFilter, type Token, Tokens, tokenizer } from 'scim2-parse-filter/lib/src/parser.js';
import { corePath, type ScimGroupRow, type ScimUserValues, type ScimUserView } from './scim.repository.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** A refusal in SCIM's words: rendered as the SCIM error document, never as problem+json. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

export const scimErrorBody = (status: number, detail: string, scimType?: string) => ({
  schemas: [ERROR_SCHEMA],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail,
});

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Core User attributes kept as sent beside the modelled ones (RFC 7643 §4.1). */
const EXTRA_USER_ATTRIBUTES = [
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
] as const;

const USER_ATTRIBUTES = new Set(
  [
    'id',
    'externalId',
    'meta',
    'schemas',
    'userName',
    'name',
    'displayName',
    'active',
    'emails',
    'groups',
    'password',
    ENTERPRISE_SCHEMA,
    ...EXTRA_USER_ATTRIBUTES,
  ].map((a) => a.toLowerCase()),
);
const GROUP_ATTRIBUTES = new Set(['id', 'externalid', 'meta', 'schemas', 'displayname', 'members']);

export type ResourceKind = 'User' | 'Group';

const attributesOf = (kind: ResourceKind) => (kind === 'User' ? USER_ATTRIBUTES : GROUP_ATTRIBUTES);

/** The top-level attribute an attribute path names (`name.givenName` → `name`; the extension's URN whole). */
function topAttribute(path: string): string {
  const lower = path.toLowerCase();
  if (lower.startsWith(`${ENTERPRISE_SCHEMA.toLowerCase()}`)) return ENTERPRISE_SCHEMA.toLowerCase();
  if (lower.startsWith(`${USER_SCHEMA.toLowerCase()}:`))
    return topAttribute(path.slice(USER_SCHEMA.length + 1));
  if (lower.startsWith(`${GROUP_SCHEMA.toLowerCase()}:`))
    return topAttribute(path.slice(GROUP_SCHEMA.length + 1));
  return lower.split(/[.[]/, 1)[0]!;
}

export const isKnownAttribute = (kind: ResourceKind, path: string) =>
  attributesOf(kind).has(topAttribute(path));

/** Strings IdPs send for booleans (Entra: `"False"`), read as booleans. */
export function readBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

const text = (value: unknown, field: string, max = 256): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max || value.includes('\u0000')) {
    throw new ScimError(400, `${field} must be a string of at most ${max} characters.`, 'invalidValue');
  }
  return value;
};

function assertSchemas(body: Json, schema: string): void {
  const schemas = body.schemas;
  if (schemas === undefined) return;
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === schema.toLowerCase())
  ) {
    throw new ScimError(400, `schemas must include ${schema}.`, 'invalidValue');
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A User body (POST, PUT, or a resource after PATCH) as the columns it is stored in. */
export function readUser(body: unknown): ScimUserValues {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a SCIM User object.', 'invalidSyntax');
  assertSchemas(body, USER_SCHEMA);
  const userName = text(body.userName, 'userName');
  if (!userName || userName.trim() === '') throw new ScimError(400, 'userName is required.', 'invalidValue');
  let active = true;
  if (body.active !== undefined && body.active !== null) {
    const read = readBoolean(body.active);
    if (read === undefined) throw new ScimError(400, 'active must be a boolean.', 'invalidValue');
    active = read;
  }
  if (body.name !== undefined && body.name !== null && !isObject(body.name)) {
    throw new ScimError(400, 'name must be an object.', 'invalidValue');
  }
  const emails = body.emails ?? [];
  if (
    !Array.isArray(emails) ||
    emails.some((e) => !isObject(e) || (e.value !== undefined && typeof e.value !== 'string'))
  ) {
    throw new ScimError(400, 'emails must be a list of objects with a string value.', 'invalidValue');
  }
  const enterprise = body[ENTERPRISE_SCHEMA] ?? null;
  if (enterprise !== null && !isObject(enterprise)) {
    throw new ScimError(400, 'The enterprise extension must be an object.', 'invalidValue');
  }
  const attributes: Json = {};
  for (const key of EXTRA_USER_ATTRIBUTES)
    if (body[key] !== undefined && body[key] !== null) attributes[key] = body[key];
  const values: ScimUserValues = {
    userName: userName.trim(),
    externalId: text(body.externalId, 'externalId'),
    active,
    name: (body.name as Json | undefined) ?? null,
    displayName: text(body.displayName, 'displayName'),
    emails: emails as Json[],
    enterprise: enterprise as Json | null,
    attributes: Object.keys(attributes).length > 0 ? attributes : null,
  };
  // Nothing stored may carry a NUL (PostgreSQL's text and jsonb hold none).
  if (JSON.stringify(values).includes('\\u0000'))
    throw new ScimError(400, 'Values cannot contain NUL.', 'invalidValue');
  return values;
}

/**
 * The account's email: the primary email, else the work one, else the first; else `userName`
 * when it is an address. Entra sends UPNs and test suites plain names, so `userName` alone may not be one.
 */
export function accountEmail(values: Pick<ScimUserValues, 'emails' | 'userName'>): string {
  const emails = (values.emails as Json[]).filter((e) => typeof e.value === 'string' && EMAIL.test(e.value));
  const chosen =
    emails.find((e) => readBoolean(e.primary) === true) ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  if (chosen) return String(chosen.value).trim();
  if (EMAIL.test(values.userName)) return values.userName;
  throw new ScimError(
    400,
    'The user needs an email: a primary or work email, or a userName that is one.',
    'invalidValue',
  );
}

/** The person's name in words, for the account and the audit entry. */
export function personName(values: Pick<ScimUserValues, 'displayName' | 'name' | 'userName'>): string {
  const n = values.name ?? {};
  const formatted = typeof n.formatted === 'string' ? n.formatted : '';
  const parts = [n.givenName, n.familyName].filter((p): p is string => typeof p === 'string' && p !== '');
  return (values.displayName || formatted || parts.join(' ') || values.userName).trim().slice(0, 200);
}

const location = (base: string, kind: 'Users' | 'Groups', id: string) => `${base}/${kind}/${id}`;

export function userResource(
  row: ScimUserView,
  base: string,
  groups: Array<{ value: string; display: string }>,
) {
  return {
    schemas: row.enterprise ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [USER_SCHEMA],
    id: row.id,
    ...(row.externalId !== null ? { externalId: row.externalId } : {}),
    userName: row.userName,
    ...(row.name ? { name: row.name } : {}),
    ...(row.displayName !== null ? { displayName: row.displayName } : {}),
    active: row.active,
    emails: row.emails,
    ...((row.attributes as Json | null) ?? {}),
    groups: groups.map((g) => ({ ...g, $ref: location(base, 'Groups', g.value) })),
    ...(row.enterprise ? { [ENTERPRISE_SCHEMA]: row.enterprise } : {}),
    meta: {
      resourceType: 'User',
      created: row.createdAt.toISOString(),
      lastModified: row.updatedAt.toISOString(),
      location: location(base, 'Users', row.id),
    },
  };
}

export function groupResource(
  row: ScimGroupRow,
  base: string,
  members: Array<{ value: string; display: string }>,
) {
  return {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    ...(row.externalId !== null ? { externalId: row.externalId } : {}),
    displayName: row.displayName,
    members: members.map((m) => ({ ...m, $ref: location(base, 'Users', m.value) })),
    meta: {
      resourceType: 'Group',
      created: row.createdAt.toISOString(),
      lastModified: row.updatedAt.toISOString(),
      location: location(base, 'Groups', row.id),
    },
  };
}

export interface GroupValues {
  displayName: string;
  externalId: string | null;
  /** SCIM user ids, as sent. */
  members: string[];
}

export function readGroup(body: unknown): GroupValues {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a SCIM Group object.', 'invalidSyntax');
  assertSchemas(body, GROUP_SCHEMA);
  const displayName = text(body.displayName, 'displayName');
  if (!displayName || displayName.trim() === '')
    throw new ScimError(400, 'displayName is required.', 'invalidValue');
  const members = body.members ?? [];
  if (!Array.isArray(members) || members.some((m) => !isObject(m) || typeof m.value !== 'string')) {
    throw new ScimError(400, 'members must be a list of objects with a string value.', 'invalidValue');
  }
  return {
    displayName: displayName.trim(),
    externalId: text(body.externalId, 'externalId'),
    members: [...new Set((members as Json[]).map((m) => String(m.value).toLowerCase()))],
  };
}

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);

/** The `[` a `]` (or `].`) at `close` closes; -1 when none does. */
function openingBracket(tokens: readonly Token[], close: number): number {
  let depth = 0;
  for (let i = close - 1; i >= 0; i--) {
    const literal = tokens[i]!.literal;
    if (literal === ']' || literal === '].') depth++;
    else if (literal === '[') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/**
 * Parses a filter with scim2-parse-filter, reading `attr[f].sub op value` (as Entra sends
 * `emails[type eq "work"].value eq "x"`) as one condition on one element, `attr[(f) and sub op
 * value]`: the library reads it as two conditions on any elements, so that a user whose work
 * address is y and whose home address is x would match. The rewrite is made on the library's own
 * tokens (quoted strings stay whole); a filter that writes the two conditions out keeps them two.
 */
function parseScimFilter(raw: string): Filter {
  const tokens = tokenizer(raw);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.literal !== '].') continue;
    const open = openingBracket(tokens, i);
    const op = tokens[i + 2]?.literal.toLowerCase() ?? '';
    const length = op === 'pr' ? 2 : COMPARE_OPS.has(op) ? 3 : 0;
    if (open < 0 || tokens[i + 1]?.type !== 'Word' || length === 0) continue;
    const condition = tokens.slice(i + 1, i + 1 + length);
    tokens.splice(
      i,
      1 + length,
      { type: 'Bracket', literal: ')' },
      { type: 'Word', literal: 'and' },
      ...condition,
      { type: 'Bracket', literal: ']' },
    );
    tokens.splice(open + 1, 0, { type: 'Bracket', literal: '(' });
  }
  const list = new Tokens(tokens);
  const parsed = parseFilter(list);
  if (list.peek().type !== 'EOT') throw new Error('unexpected token after the filter');
  return parsed;
}

/** Every attribute path a filter names. */
function filterPaths(f: Filter, prefix = ''): string[] {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.flatMap((g) => filterPaths(g, prefix));
    case 'not':
      return filterPaths(f.filter, prefix);
    case '[]':
      return [`${prefix}${f.attrPath}`, ...filterPaths(f.valFilter, `${prefix}${f.attrPath}.`)];
    default:
      return [`${prefix}${f.attrPath}`];
  }
}

/** Whether a filter names the (top-level, lower-case) attribute. */
export const filterNames = (f: Filter, attribute: string) =>
  filterPaths(f).some((path) => topAttribute(path) === attribute);

/** How deeply `and`, `or`, `not` and `[]` nest in a filter. */
function nesting(f: Filter): number {
  switch (f.op) {
    case 'and':
    case 'or':
      return 1 + Math.max(...f.filters.map(nesting));
    case 'not':
      return 1 + nesting(f.filter);
    case '[]':
      return 1 + nesting(f.valFilter);
    default:
      return 0;
  }
}

/** Deeper than any IdP writes, and than the database's parser takes once the filter is SQL. */
const MAX_FILTER_NESTING = 32;

/** A `filter` parameter, parsed and checked against the resource's attributes. */
export function readFilter(kind: ResourceKind, raw: string): Filter {
  let parsed: Filter;
  try {
    parsed = parseScimFilter(raw);
  } catch {
    throw new ScimError(400, 'The filter cannot be parsed.', 'invalidFilter');
  }
  if (nesting(parsed) > MAX_FILTER_NESTING) {
    throw new ScimError(400, 'The filter is nested too deeply.', 'invalidFilter');
  }
  for (const path of filterPaths(parsed)) {
    if (!isKnownAttribute(kind, path))
      throw new ScimError(400, `The filter names an unknown attribute: ${path}.`, 'invalidFilter');
  }
  return parsed;
}

/** Attributes whose strings compare as written (RFC 7643 `caseExact`); every other string ignores case. */
const CASE_EXACT = new Set(['id', 'externalid', 'members.value', 'groups.value']);
const isCaseExact = (path: string) => CASE_EXACT.has(corePath(path).toLowerCase());

type CompValue = string | number | boolean | null;

/**
 * scim2-parse-filter's tester with RFC 7643's rules, as the SQL the repository runs has them:
 * strings compare ignoring case unless the attribute is `caseExact` (ids, externalId), and a
 * value path's condition holds for one element.
 */
class ScimTester extends Tester {
  private scope = '';
  private exact = false;

  override test(r: unknown, f: Filter): boolean {
    if (f.op === '[]') {
      // The attribute paths inside the brackets are sub-attributes of this one.
      const outer = this.scope;
      this.scope = `${outer}${f.attrPath}.`;
      try {
        // One element meets the whole condition (the library would test the list as a whole:
        // `emails[type eq "work" and value eq "x"]` matched a work address y beside a home one x).
        return this.attrTest(this.attrPath(f.attrPath), r, (value) =>
          Array.isArray(value)
            ? value.some((element) => this.test(element, f.valFilter))
            : this.test(value, f.valFilter),
        );
      } finally {
        this.scope = outer;
      }
    }
    if ('attrPath' in f) this.exact = isCaseExact(`${this.scope}${f.attrPath}`);
    return super.test(r, f);
  }

  /** A core attribute named with its schema's URN is the attribute (the library looked for a `urn:…` key). */
  override attrPath(path: string): string[] {
    return super.attrPath(corePath(path));
  }

  /** An empty list is no value (RFC 7644 §3.4.2.2: `pr` wants a non-empty one): a group without members. */
  override pr(r: unknown): boolean {
    return r !== undefined && r !== null && !(Array.isArray(r) && r.length === 0);
  }

  private fold(r: unknown, v: CompValue): [unknown, CompValue] {
    return !this.exact && typeof r === 'string' && typeof v === 'string'
      ? [r.toLowerCase(), v.toLowerCase()]
      : [r, v];
  }

  override eq(r: unknown, v: CompValue): boolean {
    return super.eq(...this.fold(r, v));
  }
  override ne(r: unknown, v: CompValue): boolean {
    return super.ne(...this.fold(r, v));
  }
  override co(r: unknown, v: CompValue): boolean {
    return super.co(...this.fold(r, v));
  }
  override sw(r: unknown, v: CompValue): boolean {
    return super.sw(...this.fold(r, v));
  }
  override ew(r: unknown, v: CompValue): boolean {
    return super.ew(...this.fold(r, v));
  }
}

export function matches(f: Filter): (resource: Json) => boolean {
  const tester = new ScimTester();
  return (resource) => tester.test(resource, f);
}

/** The top-level attributes an `attributes` / `excludedAttributes` list names, lower-cased. */
const attributeNames = (list?: string) =>
  list
    ?.split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .map(topAttribute);

/** Whether a projection keeps the (top-level, lower-case) attribute: lists to read only what is sent. */
export function returns(attribute: string, attributes?: string, excluded?: string): boolean {
  const only = attributeNames(attributes);
  const without = attributeNames(excluded);
  if (only?.length && !only.includes(attribute)) return false;
  return !without?.includes(attribute);
}

/** `attributes` / `excludedAttributes`: the resource with only (or without) the attributes named. */
export function project(resource: Json, attributes?: string, excluded?: string): Json {
  const only = attributeNames(attributes);
  const without = attributeNames(excluded);
  if (!only?.length && !without?.length) return resource;
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    // Always returned (RFC 7643 §7): schemas, id; and meta stays useful to clients.
    const always = lower === 'schemas' || lower === 'id';
    if (only?.length && !always && !only.includes(lower)) continue;
    if (without?.length && !always && without.includes(lower)) continue;
    out[key] = value;
  }
  return out;
}

/**
 * Names that lead from a resource to `Object.prototype`. scim-patch walks a path, and the dotted
 * attribute names of a value object, with `obj[name]` (creating what is missing): through one of
 * these, a PatchOp would write into the prototype of every object of the process, every org's.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const reachesPrototype = (path: string) => path.split(/[.:[\]\s]/).some((part) => PROTOTYPE_KEYS.has(part));

/** The first attribute name in a PatchOp value, at any depth, that reaches the prototype. */
function prototypeKeyIn(value: unknown, depth = 0): string | undefined {
  if (typeof value !== 'object' || value === null || depth > 32) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (reachesPrototype(key)) return key;
    const found = prototypeKeyIn(item, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The PATCH body's operations, checked, with their `op` lower-cased (Entra sends `Replace`). */
export function readPatch(kind: ResourceKind, body: unknown): ScimPatchOperation[] {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a PatchOp message.', 'invalidSyntax');
  assertSchemas({ schemas: body.schemas ?? [PATCH_SCHEMA] }, PATCH_SCHEMA);
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError(400, 'Operations must list at least one operation.', 'invalidSyntax');
  }
  return operations.map((raw) => {
    if (!isObject(raw) || typeof raw.op !== 'string')
      throw new ScimError(400, 'Each operation needs an op.', 'invalidSyntax');
    const op = raw.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new ScimError(400, `Unknown op "${raw.op}".`, 'invalidSyntax');
    }
    if (raw.path !== undefined && (typeof raw.path !== 'string' || raw.path.trim() === '')) {
      throw new ScimError(400, 'path must be a string.', 'invalidPath');
    }
    const forbidden =
      typeof raw.path === 'string' && reachesPrototype(raw.path) ? raw.path : prototypeKeyIn(raw.value);
    if (forbidden !== undefined) {
      throw new ScimError(400, `No attribute is named ${forbidden.slice(0, 200)}.`, 'invalidPath');
    }
    if (raw.path !== undefined) {
      if (!isKnownAttribute(kind, raw.path))
        throw new ScimError(400, `Unknown attribute in path: ${raw.path}.`, 'invalidPath');
    } else if (op === 'remove') {
      throw new ScimError(400, 'A remove operation needs a path.', 'noTarget');
    } else if (!isObject(raw.value)) {
      throw new ScimError(400, 'An operation without a path needs an object value.', 'invalidValue');
    } else {
      for (const key of Object.keys(raw.value)) {
        if (!isKnownAttribute(kind, key))
          throw new ScimError(400, `Unknown attribute: ${key}.`, 'invalidPath');
      }
    }
    return { ...raw, op } as ScimPatchOperation;
  });
}

/** Applies the operations to the resource (a copy); the id and meta stay the server's. */
export function applyPatch<T extends Json>(resource: T, operations: ScimPatchOperation[]): Json {
  const copy = structuredClone(resource) as T & { meta: { resourceType: string; [k: string]: unknown } };
  let patched: Json;
  try {
    patched = scimPatch(copy as never, operations, { mutateDocument: true }) as Json;
  } catch (err) {
    const scimType = (err as { scimCode?: string }).scimCode;
    throw new ScimError(
      400,
      `The patch cannot be applied: ${(err as Error).message}`.slice(0, 500),
      scimType === 'noTarget' || scimType === 'invalidPath' || scimType === 'invalidValue'
        ? scimType
        : 'invalidValue',
    );
  }
  return { ...patched, id: resource.id, meta: resource.meta };
}

/** Paging parameters: `startIndex` from 1, `count` from 0 (capped). */
export function readPaging(
  query: Record<string, unknown>,
  max: number,
): { startIndex: number; count: number } {
  const int = (v: unknown, fallback: number) => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n))
      throw new ScimError(400, 'startIndex and count must be integers.', 'invalidValue');
    return n;
  };
  return {
    // Bounded: an offset past any org's size reads nothing (and stays a valid SQL offset).
    startIndex: Math.min(1_000_000_000, Math.max(1, int(query.startIndex, 1))),
    count: Math.min(max, Math.max(0, int(query.count, max))),
  };
}

export function listResponse(resources: Json[], total: number, startIndex: number) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
