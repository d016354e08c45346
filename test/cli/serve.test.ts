import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { decodeImageSplit, encodeImageSplit } from '../../src/data/mnist-binary.js';
import { loadMnist } from '../../src/data/mnist.js';
import { DataError, OptionError } from '../../src/errors.js';

let root: string;
let server: RunningServer;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'unforget-serve-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><p>page</p>');
  await mkdir(join(root, 'wasm'));
  await writeFile(join(root, 'wasm', 'x.wasm'), Buffer.from([0, 97, 115, 109]));
  await writeFile(join(tmpdir(), 'unforget-serve-secret.txt'), 'secret');
  server = await startServer({ port: 0, root });
});

after(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
  await rm(join(tmpdir(), 'unforget-serve-secret.txt'), { force: true });
});

/** A raw GET (fetch would normalise '..' away before it reaches the server). */
function get(path: string, headers: Record<string, string> = {}) {
  const url = new URL(server.url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((done, fail) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

test('serves the page, wasm with its type, and 404 for what is not there', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body.toString(), /<p>page<\/p>/);
  const wasm = await get('/wasm/x.wasm');
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  assert.equal((await get('/nope.js')).status, 404);
});

test('a file changed on disk is served changed, compressed or not', async () => {
  const gzip = { 'Accept-Encoding': 'gzip' };
  await writeFile(join(root, 'app.js'), 'let a = 1;'.repeat(50));
  assert.match(gunzipSync((await get('/app.js', gzip)).body).toString(), /^let a = 1;/);
  await writeFile(join(root, 'app.js'), 'let b = 2;'.repeat(50));
  assert.match(gunzipSync((await get('/app.js', gzip)).body).toString(), /^let b = 2;/);
  assert.match((await get('/app.js')).body.toString(), /^let b = 2;/);
});

test('does not serve files outside the page folder', async () => {
  const out = await get('/../unforget-serve-secret.txt');
  assert.notEqual(out.status, 200);
  assert.notEqual(out.body.toString(), 'secret');
  const encoded = await get('/..%2funforget-serve-secret.txt');
  assert.equal(encoded.status, 403);
  assert.notEqual(encoded.body.toString(), 'secret');
});

test('the bundled MNIST travels as compact binary and decodes to exactly loadMnist()', async () => {
  const plain = await get('/data/mnist.bin');
  assert.equal(plain.status, 200);
  const mnist = loadMnist();
  assert.ok(plain.body.length < 8_000_000, `${plain.body.length} bytes`);
  const zipped = await get('/data/mnist.bin', { 'Accept-Encoding': 'gzip' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.ok(zipped.body.length < plain.body.length / 3, `gzip gives ${zipped.body.length} bytes`);
  const bytes = gunzipSync(zipped.body);
  const split = decodeImageSplit(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (const part of ['train', 'test'] as const) {
    assert.deepEqual(split[part].shape, mnist[part].shape);
    assert.deepEqual(split[part].labels, mnist[part].labels);
    assert.deepEqual(split[part].inputs, mnist[part].inputs);
  }
  assert.deepEqual(split.train.classNames, mnist.train.classNames);
});

test('decoding rejects other files and truncated ones', () => {
  const bytes = encodeImageSplit({
    train: {
      inputs: new Float32Array(784).fill(0.5),
      labels: new Int32Array([1]),
      shape: [1, 28, 28, 1],
      classNames: ['a', 'b'],
    },
    test: {
      inputs: new Float32Array(784),
      labels: new Int32Array([0]),
      shape: [1, 28, 28, 1],
      classNames: ['a', 'b'],
    },
  });
  const back = decodeImageSplit(bytes.buffer.slice(0) as ArrayBuffer);
  assert.equal(back.train.inputs[100], 0.5);
  assert.equal(back.test.labels[0], 0);
  assert.throws(() => decodeImageSplit(bytes.buffer.slice(0, bytes.length - 1) as ArrayBuffer), DataError);
  assert.throws(
    () => decodeImageSplit(new TextEncoder().encode('{"not": "mnist"}'.padEnd(2000)).buffer as ArrayBuffer),
    DataError,
  );
});

test('a port in use is a clear error', async () => {
  const port = Number(new URL(server.url).port);
  await assert.rejects(
    startServer({ port, root }),
    (e: unknown) => e instanceof OptionError && /in use/.test(e.message),
  );
});
