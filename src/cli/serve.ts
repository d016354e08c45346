import { Command, InvalidArgumentError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeImageSplit } from '../data/mnist-binary.js';
import { loadMnist } from '../data/mnist.js';
import { OptionError } from '../errors.js';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream',
};

/** The folder holding this package's package.json, found by walking up from this file. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'unforget')
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('unforget serve: cannot find the unforget package folder');
    dir = up;
  }
}

/** Where the built page lives: `dist/web` in the package (written by `npm run build:web`, run by `prepare`). */
export function webRoot(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** The newest modification time of the files under `folder`, in ms (0 when there are none). */
async function newest(folder: string): Promise<number> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  let latest = 0;
  for (const e of entries) {
    if (e.isFile()) latest = Math.max(latest, (await stat(join(e.parentPath, e.name))).mtimeMs);
  }
  return latest;
}

/**
 * In a checkout of unforget run from source, builds the page when it is missing or older than its
 * sources (web/, src/), so `unforget serve` never serves a stale page. An installed package ships the
 * page built (by `prepare`) and has no build script: nothing to do.
 */
export async function buildIfStale(log: (line: string) => void = console.log): Promise<void> {
  const root = packageRoot();
  const script = join(root, 'scripts', 'build-web.ts');
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  if (!fromSource || !existsSync(script)) return;
  const built = existsSync(join(webRoot(), 'app.js')) ? (await stat(join(webRoot(), 'app.js'))).mtimeMs : 0;
  const sources = Math.max(await newest(join(root, 'web')), await newest(join(root, 'src')));
  if (built >= sources) return;
  log('unforget: building the web page…');
  const { buildWeb } = (await import(pathToFileURL(script).href)) as { buildWeb(): Promise<string> };
  await buildWeb();
}

let mnistBytes: { raw: Buffer; gzip: Buffer } | undefined;

/** The bundled MNIST in unforget's binary form (see src/data/mnist-binary.ts), made once per process. */
export function mnistFile(): { raw: Buffer; gzip: Buffer } {
  if (!mnistBytes) {
    const raw = Buffer.from(encodeImageSplit(loadMnist()).buffer);
    mnistBytes = { raw, gzip: gzipSync(raw) };
  }
  return mnistBytes;
}

export interface ServeOptions {
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Default '127.0.0.1' (this machine only). */
  host?: string;
  /** The built page's folder. Default: `webRoot()`. */
  root?: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Compressed copies of the page's files, kept while the file is unchanged (a rebuild replaces them). */
const gzipped = new Map<string, { body: Buffer; gzip: Buffer }>();

function gzipOf(path: string, body: Buffer): Buffer {
  const kept = gzipped.get(path);
  if (kept && kept.body.equals(body)) return kept.gzip;
  const gzip = gzipSync(body);
  gzipped.set(path, { body, gzip });
  return gzip;
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: Buffer,
  type: string,
  gzip?: () => Buffer,
): void {
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  let out = body;
  if (gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    out = gzip();
    headers['Content-Encoding'] = 'gzip';
    headers['Vary'] = 'Accept-Encoding';
  }
  headers['Content-Length'] = out.length;
  response.writeHead(status, headers);
  response.end(request.method === 'HEAD' ? undefined : out);
}

async function handle(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const text = (status: number, message: string) =>
    send(request, response, status, Buffer.from(message), 'text/plain; charset=utf-8');
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'only GET and HEAD');
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  } catch {
    return text(400, 'bad path');
  }
  if (path === '/data/mnist.bin') {
    const file = mnistFile();
    return send(request, response, 200, file.raw, types['.bin'], () => file.gzip);
  }
  if (path.endsWith('/')) path += 'index.html';
  const full = normalize(join(root, path));
  if (!full.startsWith(root + sep)) return text(403, 'outside the page folder');
  let body: Buffer;
  try {
    body = await readFile(full);
  } catch {
    return text(404, `not found: ${path}`);
  }
  const ext = extname(full);
  const compressible = ['.js', '.css', '.html', '.json', '.map', '.wasm'].includes(ext);
  send(
    request,
    response,
    200,
    body,
    types[ext] ?? 'application/octet-stream',
    compressible ? () => gzipOf(full, body) : undefined,
  );
}

/**
 * Serves the web page, its scripts, the wasm backend's files and the bundled MNIST from this
 * machine, so the page works with no network once loaded.
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const root = resolve(options.root ?? webRoot());
  if (!existsSync(join(root, 'index.html'))) {
    throw new OptionError(
      `the web page is not built (no ${join(root, 'index.html')}); run npm run build:web in the unforget folder`,
    );
  }
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    handle(root, request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(`server error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'EADDRINUSE'
          ? new OptionError(`port ${options.port} is in use; pick another with --port, or 0 for any free one`)
          : error.code === 'EADDRNOTAVAIL'
            ? new OptionError(
                `--host ${host} is not an address of this machine; use 127.0.0.1 (this machine only), ` +
                  '0.0.0.0 (every network it is on) or one of its own addresses',
              )
            : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
              ? new OptionError(
                  `--host ${host} is not a known host name or address; use 127.0.0.1 or 0.0.0.0`,
                )
              : error.code === 'EACCES'
                ? new OptionError(
                    `port ${options.port} needs more privileges to listen on; pick one above 1023 with --port`,
                  )
                : error,
      ),
    );
    server.listen(options.port ?? 8080, host, done);
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`expected a port 0-65535; got '${value}'`);
  return n;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the web page where you train task after task in your browser (on this machine)')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', portNumber, 8080)
    .option('--host <host>', 'address to listen on (0.0.0.0 shares it on your network)', '127.0.0.1')
    .action(async (flags: { port: number; host: string }) => {
      await buildIfStale();
      const running = await startServer({ port: flags.port, host: flags.host });
      console.log(`unforget: the page is at ${running.url}  (Ctrl+C stops the server)`);
      const stop = () => {
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
