import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from '../../../contracts/problems.ts';
import { AppError } from '../../platform/errors/app-error.ts';
import { fieldErrorsFromValidation } from '../../platform/errors/error-handler.ts';
import { packageRoot } from '../../platform/package-root.ts';
import type { Severity } from '../policies/index.ts';

const addFormats = addFormatsModule as unknown as (
  ajv: Ajv2020,
  options?: { mode: 'fast' | 'full' },
) => Ajv2020;

/** GitHub code scanning's limits on one upload, which CI users already live within. */
export const SARIF_LIMITS = { runs: 20, resultsPerRun: 25_000, locationsPerResult: 1_000 } as const;

/** How many schema errors a refusal lists: enough to fix a file, never a megabyte of them. */
const MAX_REPORTED_ERRORS = 20;

export class InvalidSarifError extends AppError {
  constructor(errors: FieldError[], detail = 'The SARIF log is not valid SARIF 2.1.0.') {
    super(400, 'invalid_sarif', 'Invalid SARIF', detail, { errors: errors.slice(0, MAX_REPORTED_ERRORS) });
  }
}

type Json = Record<string, unknown>;

/**
 * The official OASIS SARIF 2.1.0 schema (errata 01, shipped unchanged beside this file). It
 * declares draft-04, which Ajv 8 has no class for; every keyword it uses means the same in draft
 * 2020-12 except draft-04's `id`, which becomes `$id` here. `uniqueItems` on arrays of objects is
 * left out: Ajv checks it by comparing every pair, so a log with 25,000 rules or artifacts would
 * hold the event loop for minutes, and a repeated rule or artifact does not change a finding.
 */
function loadSchema(): Json {
  const file = path.join(packageRoot(), 'src/server/modules/scans/sarif-schema-2.1.0.json');
  const { $schema: _draft, id, ...rest } = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  const strip = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) strip(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const schema = node as Json;
    const items = schema.items as Json | undefined;
    if (schema.uniqueItems === true && items && (items.$ref !== undefined || items.type === 'object')) {
      delete schema.uniqueItems;
    }
    for (const value of Object.values(schema)) strip(value);
  };
  strip(rest);
  return { $id: id, ...rest };
}

let validator: ValidateFunction | undefined;

function sarifValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: false });
    addFormats(ajv, { mode: 'fast' });
    // Tools write artifact paths as they find them on disk (spaces, quotes, `|`), not
    // percent-encoded: a file the scanner could open is never refused for its name.
    const anyText = (s: string) => ![...s].some((c) => c.charCodeAt(0) < 0x20);
    ajv.addFormat('uri', anyText).addFormat('uri-reference', anyText);
    validator = ajv.compile(loadSchema());
  }
  return validator;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a SARIF log: GitHub's size limits first (cheap, and they bound what the schema check
 * walks), then the 2.1.0 schema. `at` is the JSON pointer of the log in the request
 * (`/body/sarif`, or `/body` when the log is the whole body). Throws InvalidSarifError.
 */
export function validateSarif(log: unknown, at: string): void {
  if (isObject(log) && Array.isArray(log.runs)) {
    const tooMany = (pointer: string, limit: number, what: string): FieldError => ({
      field: `${at}${pointer}`,
      message: `must have at most ${limit} ${what}`,
      reason: 'maxItems',
      params: { limit },
    });
    if (log.runs.length > SARIF_LIMITS.runs) {
      throw new InvalidSarifError(
        [tooMany('/runs', SARIF_LIMITS.runs, 'runs')],
        'The SARIF log has too many runs.',
      );
    }
    log.runs.forEach((run, r) => {
      if (!isObject(run) || !Array.isArray(run.results)) return;
      if (run.results.length > SARIF_LIMITS.resultsPerRun) {
        throw new InvalidSarifError(
          [tooMany(`/runs/${r}/results`, SARIF_LIMITS.resultsPerRun, 'results')],
          'A run of the SARIF log has too many results.',
        );
      }
      run.results.forEach((result, i) => {
        if (isObject(result) && Array.isArray(result.locations)) {
          if (result.locations.length > SARIF_LIMITS.locationsPerResult) {
            throw new InvalidSarifError(
              [tooMany(`/runs/${r}/results/${i}/locations`, SARIF_LIMITS.locationsPerResult, 'locations')],
              'A result of the SARIF log has too many locations.',
            );
          }
        }
      });
    });
  }
  const validate = sarifValidator();
  if (!validate(log)) {
    const issues = (validate.errors ?? []).slice(0, MAX_REPORTED_ERRORS) as ErrorObject[];
    // `/body/sarif/...`: the field error helper prefixes the context.
    throw new InvalidSarifError(fieldErrorsFromValidation(at.slice(1), issues));
  }
}

export interface FindingLocation {
  path: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
}

/** One finding as a SARIF result describes it, before it meets the findings already known. */
export interface ParsedFinding {
  fingerprint: string;
  ruleId: string;
  title: string;
  message: string | null;
  severity: Severity;
  location: FindingLocation | null;
  tool: string | null;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** CVSS-like score (GitHub's `security-severity`) to a severity. */
function scoreSeverity(raw: unknown): Severity | undefined {
  const score = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number.parseFloat(raw) : Number.NaN;
  if (!Number.isFinite(score)) return undefined;
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

function levelSeverity(level: unknown): Severity {
  if (level === 'error') return 'high';
  if (level === 'note' || level === 'none') return 'low';
  // `warning` is also SARIF's default level.
  return 'medium';
}

/** A message's text, with `{0}`-style arguments filled in from the rule's message strings if needed. */
function messageText(message: unknown, rule: Json | undefined): string | undefined {
  if (!isObject(message)) return undefined;
  const direct = text(message.text) ?? text(message.markdown);
  if (direct) return direct;
  const id = text(message.id);
  const strings = rule && isObject(rule.messageStrings) ? rule.messageStrings : undefined;
  const template = id && strings && isObject(strings[id]) ? text((strings[id] as Json).text) : undefined;
  if (!template) return undefined;
  const args = Array.isArray(message.arguments) ? message.arguments : [];
  return template.replace(/\{(\d+)\}/g, (whole, n: string) => {
    const arg = args[Number(n)];
    return typeof arg === 'string' ? arg : whole;
  });
}

function firstLocation(result: Json, artifacts: unknown[]): FindingLocation | null {
  const first = Array.isArray(result.locations) ? result.locations[0] : undefined;
  const physical = isObject(first) && isObject(first.physicalLocation) ? first.physicalLocation : undefined;
  if (!physical) return null;
  const artifact = isObject(physical.artifactLocation) ? physical.artifactLocation : undefined;
  let uri = artifact ? text(artifact.uri) : undefined;
  const index = artifact ? int(artifact.index) : undefined;
  if (!uri && index !== undefined && isObject(artifacts[index])) {
    const location = (artifacts[index] as Json).location;
    uri = isObject(location) ? text(location.uri) : undefined;
  }
  if (!uri) return null;
  const region = isObject(physical.region) ? physical.region : {};
  const location: FindingLocation = { path: clip(uri, 1000) };
  const startLine = int(region.startLine);
  const endLine = int(region.endLine);
  const startColumn = int(region.startColumn);
  if (startLine !== undefined) location.startLine = startLine;
  if (endLine !== undefined) location.endLine = endLine;
  if (startColumn !== undefined) location.startColumn = startColumn;
  return location;
}

/**
 * What tells a finding seen again from a new one within an application: the rule with the
 * result's `partialFingerprints` (sorted `key=value`, so key order never matters), else the rule
 * with the location's path and line (and the message, when there is no location). The rule is
 * always part of it: CodeQL's `primaryLocationLineHash` is the same for two rules on one line.
 */
export function fingerprintOf(
  ruleId: string,
  partial: unknown,
  location: FindingLocation | null,
  message: string | null,
): string {
  const parts =
    isObject(partial) && Object.keys(partial).length > 0
      ? [
          'pf',
          ...Object.keys(partial)
            .sort()
            .map((k) => `${k}=${String(partial[k])}`),
        ]
      : location
        ? ['loc', location.path, String(location.startLine ?? '')]
        : ['msg', message ?? ''];
  return createHash('sha256')
    .update(JSON.stringify([ruleId, ...parts]))
    .digest('hex');
}

/** Rules of a tool component by index and by id (results name them either way). */
function rulesOf(driver: Json | undefined) {
  const list = driver && Array.isArray(driver.rules) ? driver.rules : [];
  const byId = new Map<string, Json>();
  for (const rule of list) if (isObject(rule) && text(rule.id)) byId.set(rule.id as string, rule);
  return { list, byId };
}

/**
 * The findings of a valid SARIF log, one per fingerprint (the first result wins; a log naming
 * the same problem twice is one finding), in fingerprint order: the order rows are locked in, so
 * two scans of one application never wait on each other in a circle.
 */
export function extractFindings(log: unknown): {
  findings: ParsedFinding[];
  tools: string[];
  results: number;
} {
  const byFingerprint = new Map<string, ParsedFinding>();
  const tools = new Set<string>();
  let results = 0;
  const runs = isObject(log) && Array.isArray(log.runs) ? log.runs : [];
  for (const run of runs) {
    if (!isObject(run)) continue;
    const tool = isObject(run.tool) ? run.tool : undefined;
    const driver = tool && isObject(tool.driver) ? tool.driver : undefined;
    const toolName = driver ? (text(driver.name) ?? null) : null;
    if (toolName) tools.add(clip(toolName, 200));
    const rules = rulesOf(driver);
    const artifacts = Array.isArray(run.artifacts) ? run.artifacts : [];
    for (const result of Array.isArray(run.results) ? run.results : []) {
      if (!isObject(result)) continue;
      results++;
      const ref = isObject(result.rule) ? result.rule : undefined;
      const ruleIndex = int(result.ruleIndex) ?? (ref ? int(ref.index) : undefined);
      const named = text(result.ruleId) ?? (ref ? text(ref.id) : undefined);
      const indexed =
        ruleIndex !== undefined && isObject(rules.list[ruleIndex])
          ? (rules.list[ruleIndex] as Json)
          : undefined;
      const rule = (named ? rules.byId.get(named) : undefined) ?? indexed;
      const ruleId = clip(named ?? (rule ? text(rule.id) : undefined) ?? 'unknown', 500);
      const message = messageText(result.message, rule) ?? null;
      const ruleProps = rule && isObject(rule.properties) ? rule.properties : undefined;
      const resultProps = isObject(result.properties) ? result.properties : undefined;
      const defaults = rule && isObject(rule.defaultConfiguration) ? rule.defaultConfiguration : undefined;
      const severity =
        scoreSeverity(resultProps?.['security-severity']) ??
        scoreSeverity(ruleProps?.['security-severity']) ??
        levelSeverity(result.level ?? defaults?.level);
      const shortDescription =
        rule && isObject(rule.shortDescription) ? text(rule.shortDescription.text) : undefined;
      const title = clip((shortDescription ?? message ?? ruleId).split('\n')[0]!.trim() || ruleId, 300);
      const location = firstLocation(result, artifacts);
      const fingerprint = fingerprintOf(ruleId, result.partialFingerprints, location, message);
      if (byFingerprint.has(fingerprint)) continue;
      byFingerprint.set(fingerprint, {
        fingerprint,
        ruleId,
        title,
        message: message === null ? null : clip(message, 10_000),
        severity,
        location,
        tool: toolName,
      });
    }
  }
  const findings = [...byFingerprint.values()].sort((a, b) =>
    a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0,
  );
  return { findings, tools: [...tools], results };
}
