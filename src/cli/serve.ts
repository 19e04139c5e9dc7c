#!/usr/bin/env node
// npm run serve [-- --port N]: the live training page (dist/web) on 127.0.0.1.
import {parseArgs} from 'node:util';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {startPageServer} from './server.js';

const {values} = parseArgs({options: {port: {type: 'string'}}, strict: true});
const port = values.port === undefined ? 8080 : Number(values.port);
if (!/^\d+$/.test(values.port ?? '8080') || port > 65535) {
  console.error(`webgpu-transfer serve: flag --port expects an integer 0..65535, got '${values.port}'`);
  process.exit(2);
}
// dist/src/cli/serve.js -> dist/web
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
try {
  const s = await startPageServer(root, port);
  console.log(`webgpu-transfer: the training page is at ${s.url} (Chrome with WebGPU; Ctrl-C stops the server)`);
} catch (e) {
  console.error(`webgpu-transfer serve: ${(e as Error).message.replace(/^webgpu-transfer: /, '')}`);
  process.exit(1);
}
