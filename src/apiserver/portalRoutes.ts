/**
 * The portal's built files (portal/dist), served under /portal/ on the API's port: no server of its own. The page
 * itself is public; everything it shows comes from the API with the user's token. `/` leads to it.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { relativePathInside, UnsafePathError } from '../lib/safePath.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export function portalRoutes(distDir: string): (app: FastifyInstance) => void {
  return (app) => {
    app.get('/', async (_req, reply) => reply.redirect('/portal/'));
    app.get('/portal', async (_req, reply) => reply.redirect('/portal/'));
    app.get('/portal/*', async (req, reply) => {
      // On every answer, errors too. Never framed by another page: its Undo and Delete buttons cannot be clicked
      // through a decoy (clickjacking).
      void reply
        .header('X-Content-Type-Options', 'nosniff')
        .header(
          'Content-Security-Policy',
          "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        )
        .header('X-Frame-Options', 'DENY');
      if (!existsSync(join(distDir, 'index.html'))) {
        return reply.code(503).type('text/plain').send('the portal is not built: run "npm run build:portal" (npm start builds it)\n');
      }
      const wanted = req.url.slice('/portal/'.length).split('?')[0] ?? '';
      let file = 'index.html';
      if (wanted) {
        try {
          file = relativePathInside(decodeURIComponent(wanted), 'the portal');
        } catch (err) {
          if (err instanceof UnsafePathError) return reply.code(404).type('text/plain').send('not found\n');
          throw err;
        }
      }
      let body: Buffer;
      try {
        body = await readFile(join(distDir, file));
      } catch {
        return reply.code(404).type('text/plain').send('not found\n');
      }
      // Built assets carry a content hash in their name: cached for good; the page itself is always revalidated.
      const immutable = file.startsWith('assets/');
      return reply
        .type(TYPES[extname(file)] ?? 'application/octet-stream')
        .header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(body);
    });
  };
}
