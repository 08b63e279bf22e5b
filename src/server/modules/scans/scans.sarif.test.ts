import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractFindings, fingerprintOf, InvalidSarifError, validateSarif } from './scans.sarif.ts';

const fixture = (name: string) => JSON.parse(fs.readFileSync(`test/fixtures/sarif/${name}.sarif`, 'utf8'));

const summary = (log: unknown) =>
  extractFindings(log)
    .findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      path: f.location?.path,
      line: f.location?.startLine,
    }))
    .sort((a, b) => `${a.ruleId}${a.line}`.localeCompare(`${b.ruleId}${b.line}`));

describe('SARIF validation', () => {
  it.each(['semgrep', 'codeql', 'trivy'])('accepts the shape %s emits', (name) => {
    expect(() => validateSarif(fixture(name), '/body/sarif')).not.toThrow();
  });

  it('names the JSON pointer of what is wrong', () => {
    const log = fixture('codeql');
    log.runs[0].results[3].level = 'catastrophic';
    const err = (() => {
      try {
        validateSarif(log, '/body/sarif');
      } catch (e) {
        return e;
      }
    })() as InvalidSarifError;
    expect(err).toBeInstanceOf(InvalidSarifError);
    expect(err.code).toBe('invalid_sarif');
    expect(err.errors?.map((e) => e.field)).toContain('/body/sarif/runs/0/results/3/level');
  });

  it('refuses a log past GitHub’s limits before the schema walks it', () => {
    const runs = Array.from({ length: 21 }, () => ({ tool: { driver: { name: 't' } }, results: [] }));
    expect(() => validateSarif({ version: '2.1.0', runs }, '/body')).toThrow(/too many runs/);
    const results = Array.from({ length: 25_001 }, () => ({ message: { text: 'x' } }));
    expect(() =>
      validateSarif({ version: '2.1.0', runs: [{ tool: { driver: { name: 't' } }, results }] }, '/body'),
    ).toThrow(/too many results/);
    const locations = Array.from({ length: 1_001 }, () => ({}));
    expect(() =>
      validateSarif(
        {
          version: '2.1.0',
          runs: [{ tool: { driver: { name: 't' } }, results: [{ message: { text: 'x' }, locations }] }],
        },
        '/body',
      ),
    ).toThrow(/too many locations/);
  });

  it('refuses what is not a SARIF log at all', () => {
    expect(() => validateSarif([1, 2], '/body')).toThrow(InvalidSarifError);
    expect(() => validateSarif({ version: '2.0.0', runs: [] }, '/body')).toThrow(InvalidSarifError);
  });
});

describe('SARIF results to findings', () => {
  it('reads Semgrep: level for severity, one finding for a result repeated', () => {
    const { findings, tools, results } = extractFindings(fixture('semgrep'));
    expect(results).toBe(4);
    expect(findings).toHaveLength(3);
    expect(tools).toEqual(['Semgrep OSS']);
    expect(summary(fixture('semgrep'))).toEqual([
      {
        ruleId: 'javascript.browser.security.insecure-document-method.insecure-document-method',
        severity: 'medium',
        path: 'web/static/render.js',
        line: 7,
      },
      {
        ruleId: 'python.lang.security.audit.formatted-sql-query.formatted-sql-query',
        severity: 'high',
        path: 'app/db.py',
        line: 42,
      },
      {
        ruleId: 'python.lang.security.unverified-ssl-context.unverified-ssl-context',
        severity: 'low',
        path: "=cmd|' /C calc'!A0.py",
        line: 3,
      },
    ]);
    const sql = findings.find((f) => f.location?.path === 'app/db.py')!;
    expect(sql.fingerprint).toBe(
      fingerprintOf(sql.ruleId, undefined, { path: 'app/db.py', startLine: 42 }, null),
    );
    expect(sql.location).toEqual({ path: 'app/db.py', startLine: 42, endLine: 42, startColumn: 5 });
    expect(sql.title).toMatch(/^Semgrep Finding: python\.lang/);
    expect(sql.message).toMatch(/SQL query/);
  });

  it('reads CodeQL: the rule’s security-severity, artifact indexes, partial fingerprints with the rule', () => {
    expect(summary(fixture('codeql'))).toEqual([
      { ruleId: 'js/code-injection', severity: 'critical', path: 'src/routes/eval.js', line: 9 },
      { ruleId: 'js/reflected-xss', severity: 'medium', path: 'src/routes/users.js', line: 18 },
      { ruleId: 'js/sql-injection', severity: 'high', path: 'src/routes/users.js', line: 18 },
      { ruleId: 'js/unused-local-variable', severity: 'low', path: 'src/routes/eval.js', line: 3 },
    ]);
    const { findings } = extractFindings(fixture('codeql'));
    const sql = findings.find((f) => f.ruleId === 'js/sql-injection')!;
    expect(sql.title).toBe('Database query built from user-controlled sources');
    // Key order in partialFingerprints does not matter.
    expect(sql.fingerprint).toBe(
      fingerprintOf(
        'js/sql-injection',
        { primaryLocationStartColumnFingerprint: '15', primaryLocationLineHash: '5c6b2e5c0a7e8d13:1' },
        null,
        null,
      ),
    );
    // The same line hash under two rules is two findings.
    expect(new Set(findings.map((f) => f.fingerprint)).size).toBe(4);
  });

  it('reads Trivy: CVSS scores on the rules, one finding per CVE in one lock file', () => {
    expect(summary(fixture('trivy'))).toEqual([
      { ruleId: 'CVE-2020-28500', severity: 'medium', path: 'package-lock.json', line: 1 },
      { ruleId: 'CVE-2021-23337', severity: 'high', path: 'package-lock.json', line: 1 },
      { ruleId: 'CVE-2021-3918', severity: 'critical', path: 'package-lock.json', line: 1 },
    ]);
    expect(extractFindings(fixture('trivy')).findings.find((f) => f.ruleId === 'CVE-2021-3918')!.title).toBe(
      'json-schema: Prototype pollution vulnerability',
    );
  });

  it('prefers a result’s own security-severity to its rule’s, and maps the score bands', () => {
    const log = fixture('trivy');
    log.runs[0].results[0].properties = { 'security-severity': '3.9' };
    log.runs[0].results[1].properties = { 'security-severity': 4 };
    log.runs[0].results[2].properties = { 'security-severity': '9.0' };
    expect(summary(log).map((f) => f.severity)).toEqual(['critical', 'medium', 'low']);
  });
});
