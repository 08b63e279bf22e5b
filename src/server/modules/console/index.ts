import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TEAM_FIRST_PAGE } from '../../../contracts/console.ts';
import { sessionCookieName } from '../../platform/auth/sessions.ts';
import { NotFoundError } from '../../platform/errors/app-error.ts';
import { packageRoot } from '../../platform/package-root.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's pages: its own scripts and styles only, never framed. Mantine sets CSS variables
 * and style attributes at run time, hence 'unsafe-inline' for styles (never for scripts).
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

const TEAM_PAGE = /^\/orgs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/settings\/team$/;

/**
 * The API reads a page starts with, named in its HTML so that the browser asks for them while it
 * loads the scripts instead of after (the app's own fetches of the same URLs are then answered from
 * these). They must be the exact URLs the app requests: src/console/queries.ts, `prefetchForLocation`.
 */
function preloadsFor(urlPath: string, signedIn: boolean): string[] {
  if (!signedIn) return [];
  const urls = ['/api/v1/me'];
  const team = TEAM_PAGE.exec(urlPath);
  if (team)
    urls.push(`/api/v1/orgs/${team[1]}/roles`, `/api/v1/orgs/${team[1]}/members?limit=${TEAM_FIRST_PAGE}`);
  return urls;
}

/** Paths the console never answers: the API, the reference docs and the operators' endpoints keep their own 404s. */
const NOT_CONSOLE = /^\/(api|docs)(\/|$)|^\/(openapi\.json|metrics|healthz|readyz)$/;

/**
 * The web console (built by Vite into dist/console): files under it by their path, and the app's
 * index.html for every other GET, so that the console's own routes (/orgs/…/settings/team) load
 * it. Hashed assets are cached for good; the page itself never is.
 */
export async function consoleModule(app: FastifyInstance): Promise<void> {
  const dir = path.join(packageRoot(), 'dist', 'console');
  // The build, read whole on first use: requests are answered from memory, and no path a client
  // sends ever reaches the file system. (A rebuild comes with a restart: `gatehouse serve` builds first.)
  let build: Map<string, { bytes: Buffer; type: string }> | undefined;
  const load = () => {
    if (build) return build;
    if (!fs.existsSync(path.join(dir, 'index.html'))) return undefined;
    const files = new Map<string, { bytes: Buffer; type: string }>();
    const walk = (folder: string, prefix: string) => {
      for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
        const full = path.join(folder, entry.name);
        if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
        else {
          files.set(`${prefix}${entry.name}`, {
            bytes: fs.readFileSync(full),
            type: TYPES[path.extname(entry.name)] ?? 'application/octet-stream',
          });
        }
      }
    };
    walk(dir, '/');
    build = files;
    return files;
  };

  app.get('/*', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const urlPath = request.url.split('?', 1)[0]!;
    if (NOT_CONSOLE.test(urlPath)) throw new NotFoundError('route');
    const files = load();
    if (!files) throw new NotFoundError('console build (run `npm run build:console`)');
    const file = files.get(urlPath);
    // Anything but a file of the build is a console route: the app answers it.
    if (!file && urlPath.startsWith('/assets/')) throw new NotFoundError('file');
    let { bytes, type } = file ?? files.get('/index.html')!;
    if (!file) {
      const preloads = preloadsFor(
        urlPath,
        request.cookies[sessionCookieName(app.gatehouse.config.publicUrl)] !== undefined,
      );
      if (preloads.length > 0) {
        const links = preloads.map(
          (url) => `<link rel="preload" href="${url}" as="fetch" crossorigin="anonymous">`,
        );
        bytes = Buffer.from(bytes.toString('utf8').replace('</head>', `${links.join('')}</head>`));
      }
    }
    const immutable = file !== undefined && urlPath.startsWith('/assets/');
    return reply
      .header('content-type', type)
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .headers(type.startsWith('text/html') ? PAGE_HEADERS : {})
      .send(bytes);
  });
}
