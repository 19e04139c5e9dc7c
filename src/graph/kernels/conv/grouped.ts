// Grouped and depthwise conv2d (groups > 1; shaders/conv-grouped.wgsl), as torchvision's MobileNets use them.
import {CONV_GROUPED} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {grid1d} from '../../../gpu/runtime.js';
import {dummyBuffer} from '../device.js';
import type {Conv2dGeom} from './geom.js';
import {choose} from '../select.js';
import {GROUPED_FORWARD, GROUPED_INPUT, GROUPED_WEIGHT} from './select-grouped.js';
import {planeForwardKernel, planeInputKernel, planeWeightKernel} from './grouped-planes.js';

/** Multiply-adds of a grouped conv, two flops each: every output reads C / groups channels. */
const groupedFlops = (g: Conv2dGeom) => 2 * g.N * g.K * g.OH * g.OW * (g.C / g.groups) * g.KH * g.KW;
const groupedNote = (g: Conv2dGeom) => `${g.N}x${g.C}x${g.H}x${g.W}*${g.K}x${g.C / g.groups}x${g.KH}x${g.KW} ` +
  `g${g.groups}${g.SH > 1 || g.SW > 1 ? ` s${g.SH}` : ''}${g.PH || g.PW ? ` p${g.PH}` : ''}`;

/**
 * CONV_GROUPED's uniforms. The weight gradient's work items are row segments: enough of them that each of a
 * workgroup's threads has one when the N * OH output rows are fewer than its threads.
 */
function groupedParams(g: Conv2dGeom) {
  const rows = g.N * g.OH, threads = CONV_GROUPED.workgroupDims[0];
  const seg = Math.ceil(g.OW / Math.min(g.OW, Math.max(1, Math.ceil(threads / rows))));
  return {N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH,
    PW: g.PW, CG: g.C / g.groups, KG: g.K / g.groups, segs: Math.ceil(g.OW / seg), seg};
}

/**
 * Forward (GROUPED_FORWARD): depthwise, whole rows of a plane per thread in a kernel generated for the shape; else
 * eight neighbouring outputs of a row per thread at column stride 1 (their inputs slide through registers, one load
 * per tap), four otherwise.
 */
export function groupedConv2dK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom): Tensor {
  const y = empty([g.N, g.K, g.OH, g.OW]);
  if (choose(GROUPED_FORWARD, g) === 'planes') {
    const {kernel, threads} = planeForwardKernel(g);
    kernel.launch('main', {buffers: [x.buffer, w.buffer, bias ? bias.buffer : dummyBuffer(), y.buffer],
      params: groupedParams(g), threads, constants: {HAS_BIAS: bias ? 1 : 0}, flops: groupedFlops(g),
      note: groupedNote(g)});
    return y;
  }
  const eight = g.SW === 1;
  CONV_GROUPED.launch(eight ? 'grouped_fwd8' : 'grouped_fwd', {
    buffers: [x.buffer, w.buffer, bias ? bias.buffer : dummyBuffer(), y.buffer], params: groupedParams(g),
    threads: g.N * g.K * g.OH * Math.ceil(g.OW / (eight ? 8 : 4)), constants: {HAS_BIAS: bias ? 1 : 0},
    flops: groupedFlops(g), note: groupedNote(g)});
  return y;
}

/**
 * Input gradient (GROUPED_INPUT), gathering over the outputs that read each input: depthwise, whole rows of a plane per
 * thread in a kernel generated for the shape; else eight neighbouring inputs of a row per thread at column stride 1
 * (each weight load serving eight) and 2 (the depthwise downsampling layers: each tap's four loads serving four
 * inputs), one per thread otherwise.
 */
export function groupedConv2dBwdInputK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  if (choose(GROUPED_INPUT, g) === 'planes') {
    const {kernel, threads} = planeInputKernel(g);
    kernel.launch('main', {buffers: [dy.buffer, w.buffer, dx.buffer], params: groupedParams(g), threads,
      flops: groupedFlops(g), note: groupedNote(g)});
    return dx;
  }
  const entry = g.SW === 1 ? 'grouped_bwd_input8' : g.SW === 2 ? 'grouped_bwd_input_s2' : 'grouped_bwd_input';
  const threads = entry === 'grouped_bwd_input' ? dx.size : g.N * g.C * g.H * Math.ceil(g.W / 8);
  CONV_GROUPED.launch(entry, {buffers: [dy.buffer, w.buffer, dx.buffer], params: groupedParams(g), threads,
    flops: groupedFlops(g), note: groupedNote(g)});
  return dx;
}

/**
 * Weight gradient (GROUPED_WEIGHT): depthwise, a thread per channel in a kernel generated for the shape; else by blocks
 * of 4 neighbouring taps of a kernel row, a workgroup per block, its threads' sums added as a tree, or a thread per
 * block summing alone.
 */
export function groupedConv2dBwdWeightK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const dw = empty([g.K, g.C / g.groups, g.KH, g.KW]);
  const variant = choose(GROUPED_WEIGHT, g);
  if (variant === 'planes') {
    const {kernel, threads} = planeWeightKernel(g);
    kernel.launch('main', {buffers: [x.buffer, dy.buffer, dw.buffer], params: groupedParams(g), threads,
      flops: groupedFlops(g), note: groupedNote(g)});
    return dw;
  }
  const blocks = dw.size / g.KW * Math.ceil(g.KW / 4);
  const serial = variant === 'serial';
  CONV_GROUPED.launch(serial ? 'grouped_bwd_weight_serial' : 'grouped_bwd_weight', {
    buffers: [x.buffer, dy.buffer, dw.buffer], params: groupedParams(g),
    ...(serial ? {threads: blocks} : {workgroups: grid1d(blocks, 1)}), flops: groupedFlops(g), note: groupedNote(g)});
  return dw;
}
