/**
 * Only platform/outbound may make HTTP requests: a user-supplied URL fetched anywhere else would
 * skip the SSRF guard. This reads every source file of the server and the CLI (their syntax
 * trees, so comments and strings do not count) and fails on any other HTTP client.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../../..');
const SCANNED = ['src/server', 'src/cli'];
const GUARD_DIR = 'src/server/platform/outbound/';

/**
 * Uses proven not to reach a user-supplied URL, each with its reason. A listed use that no
 * longer exists fails the test too, so the list stays true.
 */
const ALLOWED: { file: string; use: string; reason: string }[] = [
  {
    file: 'src/cli/scan-upload.ts',
    use: 'fetch',
    reason:
      'the CLI, run by its user on their own machine, uploads to their own Gatehouse server ' +
      '(--url / GATEHOUSE_URL); no Gatehouse user submits that URL to a server',
  },
  {
    file: 'src/server/platform/cache/cache.ts',
    use: 'net.Socket',
    reason:
      'the socket the cache bus LISTENs on, handed to pg, which connects it to DATABASE_URL: ' +
      'the operator’s configuration, never a URL a user submits',
  },
];

/** Modules whose import is itself the offence. */
const CLIENT_MODULES = new Set([
  'undici',
  'node-fetch',
  'axios',
  'got',
  'ky',
  'superagent',
  'needle',
  'request',
  'phin',
  'cross-fetch',
  'isomorphic-fetch',
  'make-fetch-happen',
  'http2',
  'node:http2',
  'https',
  'node:https',
]);
/** Of node:http, only the server side and constants may be imported. */
const HTTP_MODULES = new Set(['http', 'node:http']);
const HTTP_SERVER_NAMES = new Set([
  'STATUS_CODES',
  'METHODS',
  'createServer',
  'Server',
  'IncomingMessage',
  'ServerResponse',
  'IncomingHttpHeaders',
  'OutgoingHttpHeaders',
]);
/** Raw connections bypass the guard just as well (a Socket or TLSSocket made and then connected too). */
const CONNECTING_CALLS = new Set(['connect', 'createConnection', 'Socket', 'TLSSocket']);
const CONNECTING_MODULES = new Set(['net', 'tls', 'node:net', 'node:tls']);
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window', 'self']);
const BROWSER_CLIENTS = new Set(['XMLHttpRequest', 'WebSocket', 'EventSource']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    // Tests talk to their own loopback listeners (and to the guard's); they are not the product.
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) out.push(rel);
  }
  return out;
}

/** The HTTP client uses in one file, as `use` names (`fetch`, `undici`, `http.request`, ...). */
function findClientUses(file: string, text: string): { use: string; line: number }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const uses: { use: string; line: number }[] = [];
  const add = (use: string, node: ts.Node) =>
    uses.push({ use, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  // Local names bound to node:http / net / tls (default or namespace imports).
  const httpNames = new Set<string>();
  const netNames = new Set<string>();
  /** Names that load a module: require, and what createRequire(...) returned. */
  const requireNames = new Set<string>(['require']);
  const isCreateRequire = (node: ts.Node) =>
    ts.isCallExpression(node) &&
    ((ts.isIdentifier(node.expression) && node.expression.text === 'createRequire') ||
      (ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'createRequire'));
  /** A member of node:http, net or tls taken by name (`http.request`, `const { request } = http`). */
  const memberUse = (owner: string, member: string, node: ts.Node) => {
    if (httpNames.has(owner) && !HTTP_SERVER_NAMES.has(member)) add(`http.${member}`, node);
    if (netNames.has(owner) && CONNECTING_CALLS.has(member)) add(`${owner}.${member}`, node);
  };

  const moduleUse = (specifier: string, node: ts.Node, named?: string[]) => {
    if (CLIENT_MODULES.has(specifier)) add(specifier.replace(/^node:/, ''), node);
    if (HTTP_MODULES.has(specifier)) {
      for (const name of named ?? []) if (!HTTP_SERVER_NAMES.has(name)) add(`http.${name}`, node);
    }
    if (CONNECTING_MODULES.has(specifier)) {
      for (const name of named ?? []) if (CONNECTING_CALLS.has(name)) add(`${specifier}.${name}`, node);
    }
  };

  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const specifier = node.moduleSpecifier.text;
      const clause = node.importClause;
      const named: string[] = [];
      // A type-only import brings nothing that runs.
      if (clause?.namedBindings && ts.isNamedImports(clause.namedBindings) && !clause.isTypeOnly) {
        for (const el of clause.namedBindings.elements)
          if (!el.isTypeOnly) named.push((el.propertyName ?? el.name).text);
      }
      const local =
        clause?.name?.text ??
        (clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings)
          ? clause.namedBindings.name.text
          : undefined);
      if (local && HTTP_MODULES.has(specifier)) httpNames.add(local);
      if (local && CONNECTING_MODULES.has(specifier)) netNames.add(local);
      moduleUse(specifier, node, named);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      moduleUse(node.moduleSpecifier.text, node, ['*']);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const first = node.arguments[0];
      // require('undici'), import('undici'), createRequire(url)('undici'),
      // process.getBuiltinModule('node:https')
      if (
        (callee.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(callee) && requireNames.has(callee.text)) ||
          isCreateRequire(callee) ||
          (ts.isPropertyAccessExpression(callee) && callee.name.text === 'getBuiltinModule')) &&
        first &&
        ts.isStringLiteralLike(first)
      ) {
        moduleUse(first.text, node, ['*']);
      }
    } else if (ts.isVariableDeclaration(node) && node.initializer) {
      const init = node.initializer;
      // const load = createRequire(import.meta.url)
      if (ts.isIdentifier(node.name) && isCreateRequire(init)) requireNames.add(node.name.text);
      // const { request } = http
      if (ts.isObjectBindingPattern(node.name) && ts.isIdentifier(init)) {
        for (const el of node.name.elements) {
          const key = el.propertyName ?? el.name;
          if (ts.isIdentifier(key) || ts.isStringLiteral(key)) memberUse(init.text, key.text, el);
        }
      }
    } else if (
      ts.isElementAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression)
    ) {
      // http['request']
      memberUse(node.expression.text, node.argumentExpression.text, node);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) {
      if (BROWSER_CLIENTS.has(node.expression.text)) add(node.expression.text, node);
    } else if (ts.isIdentifier(node) && node.text === 'fetch') {
      const parent = node.parent;
      const isMemberName = ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isDeclarationName =
        (ts.isPropertyAssignment(parent) ||
          ts.isMethodDeclaration(parent) ||
          ts.isPropertySignature(parent) ||
          ts.isMethodSignature(parent) ||
          ts.isPropertyDeclaration(parent)) &&
        parent.name === node;
      if (isMemberName) {
        const owner = (parent as ts.PropertyAccessExpression).expression;
        if (ts.isIdentifier(owner) && GLOBAL_OBJECTS.has(owner.text)) add('fetch', node);
      } else if (!isDeclarationName) {
        add('fetch', node);
      }
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      memberUse(node.expression.text, node.name.text, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return uses;
}

describe('HTTP clients outside platform/outbound', () => {
  it('finds what it looks for (the scanner itself)', () => {
    const sample = `
      import { request as undiciRequest } from 'undici';
      import http, { get } from 'node:http';
      import https from 'node:https';
      import net from 'node:net';
      import axios from 'axios';
      // fetch(url) in a comment does not count, nor 'fetch(' in a string
      const note = 'fetch(';
      const cache = { fetch: 1 };
      cache.fetch;
      await fetch(url);
      await globalThis.fetch(url);
      const f = fetch;
      http.request(url);
      net.connect(443, host);
      const mod = await import('got');
      new WebSocket(url);
      http.createServer();
      const { request: send, createServer } = http;
      http['get'](url);
      new net.Socket().connect(443, host);
      import type { Socket } from 'node:net';
      import { TLSSocket } from 'node:tls';
      const https2 = process.getBuiltinModule('node:https');
      const load = createRequire(import.meta.url);
      load('undici');
      createRequire(import.meta.url)('axios');
    `;
    expect(findClientUses('sample.ts', sample).map((u) => u.use)).toEqual([
      'undici',
      'http.get',
      'https',
      'axios',
      'fetch',
      'fetch',
      'fetch',
      'http.request',
      'net.connect',
      'got',
      'WebSocket',
      'http.request',
      'http.get',
      'net.Socket',
      'node:tls.TLSSocket',
      'https',
      'undici',
      'axios',
    ]);
  });

  it('are none, besides the listed ones', () => {
    const found: string[] = [];
    const allowedSeen = new Set<number>();
    for (const file of SCANNED.flatMap(sourceFiles)) {
      if (file.startsWith(GUARD_DIR)) continue;
      for (const { use, line } of findClientUses(file, fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
        const allowed = ALLOWED.findIndex((a) => a.file === file && a.use === use);
        if (allowed === -1) found.push(`${file}:${line} ${use}`);
        else allowedSeen.add(allowed);
      }
    }
    expect(found, 'use app.gatehouse.outbound (platform/outbound) for outbound HTTP').toEqual([]);
    const stale = ALLOWED.filter((_a, i) => !allowedSeen.has(i)).map((a) => `${a.file} ${a.use}`);
    expect(stale, 'allowances that match nothing any more').toEqual([]);
  });
});
