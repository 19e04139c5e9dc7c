// Every WGSL kernel file, imported as text (esbuild's text loader), keyed by family. Each is prefixed with
// shaders/numerics.wgsl, the one definition of the NaN/Inf helpers (WGSL has no include).
import type {KernelSource} from '../gpu/pipelines.js';
import numerics from '../../shaders/numerics.wgsl';
import elementwise from '../../shaders/elementwise.wgsl';
import reduce from '../../shaders/reduce.wgsl';
import softmax from '../../shaders/softmax.wgsl';
import layout from '../../shaders/layout.wgsl';
import matmul from '../../shaders/matmul.wgsl';
import conv2d from '../../shaders/conv2d.wgsl';
import pool from '../../shaders/pool.wgsl';
import optimizer from '../../shaders/optimizer.wgsl';
import random from '../../shaders/random.wgsl';
import reversal from '../../shaders/reversal.wgsl';
import capsule from '../../shaders/capsule.wgsl';

const preludeLines = numerics.split('\n').length;
const k = (file: string, code: string): KernelSource => ({file, code: `${numerics}\n${code}`, prelude: {file: 'numerics.wgsl', lines: preludeLines}});
export const SHADERS = {
  elementwise: k('elementwise.wgsl', elementwise),
  reduce: k('reduce.wgsl', reduce),
  softmax: k('softmax.wgsl', softmax),
  layout: k('layout.wgsl', layout),
  matmul: k('matmul.wgsl', matmul),
  conv2d: k('conv2d.wgsl', conv2d),
  pool: k('pool.wgsl', pool),
  optimizer: k('optimizer.wgsl', optimizer),
  random: k('random.wgsl', random),
  reversal: k('reversal.wgsl', reversal),
  capsule: k('capsule.wgsl', capsule),
} as const;
