#!/usr/bin/env node
// npm run serve [-- --port N]: the live training page (dist/web) on 127.0.0.1; the same command, flags and errors
// as `webgpu-transfer serve`.
import {fail, parseFlags} from './flags.js';
import {SERVE, servePage} from './server.js';

const values = parseFlags({serve: SERVE}, 'serve', process.argv.slice(2));
try { await servePage(values.port as number | undefined); } catch (e) { fail((e as Error).message); }
