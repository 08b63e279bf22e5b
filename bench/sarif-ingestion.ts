/**
 * SARIF ingestion: one large SARIF 2.1.0 log uploaded through the real route, next to the SARIF
 * schema validation alone, in the same run.
 *
 * The log is generated (seeded, the same on every run): two runs of SARIF_RESULTS/2 results each
 * (default 50,000 in all; 25,000 per run is the route's limit), a CodeQL-like run (150 rules with
 * `security-severity`, 2,000 artifacts referenced by index, regions, `primaryLocationLineHash`
 * partial fingerprints, a related location on every third result) and a Semgrep-like run (300
 * rules, URIs inline, `matchBasedId/v1` fingerprints). Every result is a distinct finding. It is
 * sent gzip-encoded (`Content-Encoding: gzip`, `Content-Type: application/sarif+json`): the
 * script prints its size raw and compressed and stops if it passes the route's limits (10 MiB on
 * the wire, 64 MiB decompressed).
 *
 * A Gatehouse runs in this process (fresh PGlite, or a fresh database on the PostgreSQL server of
 * DATABASE_URL, loopback only, dropped at the end) and receives the log twice over a loopback
 * socket, one request at a time, through an automation token: the first upload creates every
 * finding, the second sees all of them again (the upsert path). Then, in the same process, the
 * parts the route does before touching the database, each alone on the same log: gunzip + JSON
 * parse, `validateSarif` (the baseline line) and `extractFindings`; the rest of the request
 * (findings upsert, scan links, storing the log, policy, spend, audit) is the difference.
 * The main thread's busy time during each upload tells Node's share from the database's (on
 * PGlite the database runs on the main thread too). Memory: RSS before and after each upload and
 * the process's peak (`resourceUsage().maxRSS`); on PGlite the database lives in this process too
 * and is part of it.
 *
 *   node --import tsx bench/sarif-ingestion.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/sarif-ingestion.ts
 *   SARIF_RESULTS=2000 node --import tsx bench/sarif-ingestion.ts          (smoke run)
 *   SARIF_SIZE_ONLY=1 node --import tsx bench/sarif-ingestion.ts           (generate, print the sizes, stop)
 */
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { sql } from 'drizzle-orm';
import { SCAN_BODY_LIMIT, SCAN_DECODED_LIMIT } from '../src/server/modules/scans/scans.body.ts';
import { extractFindings, SARIF_LIMITS, validateSarif } from '../src/server/modules/scans/scans.sarif.ts';
import { machineLine, ms, prng, signUp } from './lib.ts';
import { created, withBenchGatehouse } from './server.ts';

const RESULTS = Number(process.env.SARIF_RESULTS ?? 50_000);
const PER_RUN = Math.ceil(RESULTS / 2);
const ADMIN_URL = process.env.DATABASE_URL?.trim() || undefined;
const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

const MiB = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
const rss = () => process.memoryUsage().rss;
/** maxRSS is in KiB on Linux. */
const peak = () => process.resourceUsage().maxRSS * 1024;

type Json = Record<string, unknown>;

const hex = (random: () => number, length: number) =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');

const WORDS = ['user', 'request', 'query', 'input', 'payload', 'token', 'path', 'header', 'cookie', 'body'];
const DIRS = [
  'src/routes',
  'src/services',
  'src/lib',
  'src/db',
  'src/api/v1',
  'packages/core/src',
  'web/app',
];

function codeqlRun(random: () => number, results: number): Json {
  const kinds = [
    ['sql-injection', 'Database query built from user-controlled sources', 'external/cwe/cwe-089'],
    ['code-injection', 'Code injection', 'external/cwe/cwe-094'],
    ['reflected-xss', 'Reflected cross-site scripting', 'external/cwe/cwe-079'],
    ['path-injection', 'Uncontrolled data used in path expression', 'external/cwe/cwe-022'],
    ['unused-local-variable', 'Unused variable, import, function or class', 'maintainability'],
  ] as const;
  const rules = Array.from({ length: 150 }, (_, i) => {
    const [kind, title, tag] = kinds[i % kinds.length]!;
    const score = (1 + random() * 9).toFixed(1);
    return {
      id: `js/${kind}-${i}`,
      name: `js/${kind}-${i}`,
      shortDescription: { text: `${title} (${i})` },
      fullDescription: { text: `${title}: data from a remote source reaches a sensitive sink.` },
      defaultConfiguration: { enabled: true, level: i % 5 === 4 ? 'note' : 'error' },
      help: { text: `# ${title}`, markdown: `# ${title}\n\nValidate the ${WORDS[i % WORDS.length]}.` },
      properties: {
        tags: ['security', tag],
        kind: 'path-problem',
        precision: 'high',
        'security-severity': score,
      },
    };
  });
  const artifacts = Array.from({ length: 2000 }, (_, i) => ({
    location: { uri: `${DIRS[i % DIRS.length]}/module-${i}.js`, uriBaseId: '%SRCROOT%', index: i },
  }));
  const out = Array.from({ length: results }, (_, i) => {
    const ruleIndex = Math.floor(random() * rules.length);
    const artifact = Math.floor(random() * artifacts.length);
    const line = 1 + Math.floor(random() * 2000);
    const column = 1 + Math.floor(random() * 80);
    const result: Json = {
      ruleId: rules[ruleIndex]!.id,
      ruleIndex,
      rule: { id: rules[ruleIndex]!.id, index: ruleIndex },
      message: {
        text: `This ${WORDS[i % WORDS.length]} depends on a [user-provided value](1) (result ${i}).`,
      },
      locations: [
        {
          physicalLocation: {
            artifactLocation: {
              uri: artifacts[artifact]!.location.uri,
              uriBaseId: '%SRCROOT%',
              index: artifact,
            },
            region: { startLine: line, startColumn: column, endLine: line, endColumn: column + 24 },
          },
        },
      ],
      partialFingerprints: {
        primaryLocationLineHash: `${hex(random, 16)}:${1 + (i % 3)}`,
        primaryLocationStartColumnFingerprint: String(column - 1),
      },
    };
    if (i % 3 === 0) {
      result.relatedLocations = [
        {
          id: 1,
          physicalLocation: {
            artifactLocation: {
              uri: artifacts[artifact]!.location.uri,
              uriBaseId: '%SRCROOT%',
              index: artifact,
            },
            region: { startLine: Math.max(1, line - 6), startColumn: 15, endColumn: 30 },
          },
          message: { text: 'user-provided value' },
        },
      ];
    }
    return result;
  });
  return {
    tool: { driver: { name: 'CodeQL', organization: 'GitHub', semanticVersion: '2.18.4', rules } },
    invocations: [{ executionSuccessful: true, toolExecutionNotifications: [] }],
    artifacts,
    results: out,
    automationDetails: { id: '/language:javascript-typescript/' },
    columnKind: 'utf16CodeUnits',
  };
}

function semgrepRun(random: () => number, results: number): Json {
  const rules = Array.from({ length: 300 }, (_, i) => ({
    id: `python.lang.security.rule-${i}`,
    name: `python.lang.security.rule-${i}`,
    shortDescription: { text: `Semgrep finding: rule ${i}` },
    fullDescription: { text: `Detected a use of a dangerous ${WORDS[i % WORDS.length]} API.` },
    defaultConfiguration: { level: ['error', 'warning', 'note'][i % 3] },
    properties: { tags: ['security', `CWE-${78 + (i % 40)}`], precision: 'very-high' },
  }));
  const out = Array.from({ length: results }, (_, i) => {
    const rule = rules[Math.floor(random() * rules.length)]!;
    const line = 1 + Math.floor(random() * 1500);
    return {
      ruleId: rule.id,
      message: { text: `Untrusted ${WORDS[i % WORDS.length]} flows into ${rule.id} (match ${i}).` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: {
              uri: `app/${DIRS[i % DIRS.length]}/handler_${i % 3000}.py`,
              uriBaseId: '%SRCROOT%',
            },
            region: {
              startLine: line,
              startColumn: 5,
              endLine: line + 2,
              endColumn: 40,
              snippet: { text: 'subprocess.run(cmd, shell=True)' },
            },
          },
        },
      ],
      fingerprints: { 'matchBasedId/v1': hex(random, 32) },
      partialFingerprints: { 'matchBasedId/v1': hex(random, 32) },
      properties: {},
    };
  });
  return {
    tool: { driver: { name: 'Semgrep OSS', semanticVersion: '1.85.0', rules } },
    invocations: [{ executionSuccessful: true, toolExecutionNotifications: [] }],
    results: out,
  };
}

function generateLog(): Json {
  const random = prng(0x5a71f);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [codeqlRun(random, PER_RUN), semgrepRun(random, RESULTS - PER_RUN)],
  };
}

/** One POST over a socket (node:http: no client timeout cuts a long request short). */
function post(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  process.stdout.write(
    `== SARIF ingestion: ${RESULTS.toLocaleString('en')} results through POST /scans vs validation alone ==\n`,
  );
  process.stdout.write(`${machineLine()}\n`);
  if (PER_RUN > SARIF_LIMITS.resultsPerRun) {
    throw new Error(`${PER_RUN} results per run exceeds the route's ${SARIF_LIMITS.resultsPerRun}`);
  }

  let started = performance.now();
  let log: Json | undefined = generateLog();
  let text: Buffer | undefined = Buffer.from(JSON.stringify(log));
  log = undefined;
  const generateMs = performance.now() - started;
  const raw = text.length;
  const body = await gzip(text, { level: 6 });
  text = undefined;
  const fits = body.length <= SCAN_BODY_LIMIT && raw <= SCAN_DECODED_LIMIT;
  process.stdout.write(
    `log: 2 runs, ${RESULTS} results; ${MiB(raw)} raw, ${MiB(body.length)} gzip-encoded (limits ${MiB(SCAN_BODY_LIMIT)} on the wire, ${MiB(SCAN_DECODED_LIMIT)} decompressed) -> ${fits ? 'fits' : 'DOES NOT FIT'}; generated in ${ms(generateMs)}\n`,
  );
  if (!fits) {
    process.exitCode = 1;
    return;
  }
  if (process.env.SARIF_SIZE_ONLY) return;
  // The generator's garbage out of the way, so the RSS before the upload is the server's.
  (globalThis as { gc?: () => void }).gc?.();

  await withBenchGatehouse(
    'sarif-ingestion',
    { postgres: ADMIN_URL !== undefined },
    async ({ server, database }) => {
      const base = server.url;
      const db = server.database.db;
      process.stdout.write(`server on ${database}\n`);
      const cookie = await signUp(base);
      const create = <T>(path: string, payload: unknown) => created<T>(base, path, payload, cookie);
      const org = await create<{ id: string }>('/api/v1/orgs', { name: 'Bench ingestion', plan: 'pro' });
      const app = await create<{ id: string }>(`/api/v1/orgs/${org.id}/applications`, { name: 'monorepo' });
      const bot = await create<{ token: string }>(`/api/v1/orgs/${org.id}/automation-tokens`, {
        name: 'ci',
        role: 'developer',
        scopes: ['write'],
      });
      const url = `${base}/api/v1/orgs/${org.id}/scans?applicationId=${app.id}&modules=sast`;
      const headers = {
        authorization: `Bearer ${bot.token}`,
        'content-type': 'application/sarif+json',
        'content-encoding': 'gzip',
      };

      // A warm-up that compiles the SARIF schema's validator, so neither upload pays for it.
      const tiny = await gzip(Buffer.from(JSON.stringify({ version: '2.1.0', runs: [] })));
      const warm = await post(url, headers, tiny);
      if (warm.status !== 201) throw new Error(`warm-up upload answered ${warm.status}: ${warm.text}`);

      const uploads: {
        label: string;
        ms: number;
        busyMs: number;
        rssBefore: number;
        rssAfter: number;
        peak: number;
      }[] = [];
      let ok = true;
      for (const label of ['first upload (all new)', 'second upload (all seen again)']) {
        const rssBefore = rss();
        const elu = performance.eventLoopUtilization();
        started = performance.now();
        const res = await post(url, headers, body);
        const elapsed = performance.now() - started;
        const busyMs = performance.eventLoopUtilization(elu).active;
        if (res.status !== 201) throw new Error(`${label} answered ${res.status}: ${res.text.slice(0, 500)}`);
        const scan = JSON.parse(res.text) as { findings: { total: number } };
        if (scan.findings.total !== RESULTS) {
          ok = false;
          process.stdout.write(`  ${label}: ${scan.findings.total} findings, expected ${RESULTS}\n`);
        }
        uploads.push({ label, ms: elapsed, busyMs, rssBefore, rssAfter: rss(), peak: peak() });
      }
      const [stored] = (
        (await db.execute(sql`
        SELECT count(*)::int AS findings, min(occurrences)::int AS min_occ, max(occurrences)::int AS max_occ,
               (SELECT count(*)::int FROM scan_findings WHERE org_id = ${org.id}) AS links
          FROM findings WHERE org_id = ${org.id} AND application_id = ${app.id}`)) as unknown as {
          rows: { findings: number; min_occ: number; max_occ: number; links: number }[];
        }
      ).rows;
      const storedOk =
        stored?.findings === RESULTS &&
        stored.min_occ === 2 &&
        stored.max_occ === 2 &&
        stored.links === 2 * RESULTS;
      ok &&= storedOk;

      // The route's work before the database, each part alone on the same bytes.
      started = performance.now();
      const parsed = JSON.parse((await gunzip(body)).toString('utf8')) as unknown;
      const parseMs = performance.now() - started;
      started = performance.now();
      validateSarif(parsed, '/body');
      const validateMs = performance.now() - started;
      started = performance.now();
      const extracted = extractFindings(parsed);
      const extractMs = performance.now() - started;
      if (extracted.findings.length !== RESULTS) ok = false;

      const perSec = (msValue: number) => `${((RESULTS / msValue) * 1000).toFixed(0).padStart(7)} results/s`;
      const row = (label: string, msValue: number, extra = '') =>
        `${label.padEnd(44)} ${ms(msValue).padStart(10)}  ${perSec(msValue)}${extra}\n`;
      for (const u of uploads) {
        process.stdout.write(
          row(
            `POST /scans, ${u.label}`,
            u.ms,
            `   main thread busy ${ms(u.busyMs)}; RSS ${MiB(u.rssBefore)} -> ${MiB(u.rssAfter)}, peak ${MiB(u.peak)}`,
          ),
        );
      }
      process.stdout.write(row('baseline: validateSarif alone (in-process)', validateMs));
      process.stdout.write(row('  gunzip + JSON.parse alone (in-process)', parseMs));
      process.stdout.write(row('  extractFindings alone (in-process)', extractMs));
      const before = parseMs + validateMs + extractMs;
      for (const u of uploads) {
        process.stdout.write(
          row(`  rest of the ${u.label.split(' (')[0]} (by difference)`, Math.max(0, u.ms - before)),
        );
      }
      process.stdout.write(
        `ratio first upload / validation alone: ${(uploads[0]!.ms / validateMs).toFixed(2)}x the time; second / first: ${(uploads[1]!.ms / uploads[0]!.ms).toFixed(2)}\n` +
          `peak RSS of the process: ${MiB(peak())} (SARIF ${MiB(raw)} raw)\n` +
          `check: both uploads answered 201 with ${RESULTS} findings; ${stored?.findings} findings stored, occurrences ${stored?.min_occ}..${stored?.max_occ}, ${stored?.links} scan links -> ${ok ? 'yes' : 'NO'}\n`,
      );
      if (!ok) process.exitCode = 1;
    },
  );
}

await main();
