// The one validation layer for op inputs: every op front-end calls checkArgs(op, ...tensors) first, and
// SIGNATURES states, in one table, which tensor arguments each op takes and their dtypes. Kernels read raw
// bits, so an int32 tensor where a float32 one belongs would be read as tiny floats (1 -> 1.4e-45): a silent
// wrong answer. Errors name the op, the argument and the tensor.
import type {Tensor} from './tensor.js';

/** 'f32' / 'i32': that dtype; 'any': either; 'same': either, but equal across all such arguments. */
type Want = 'f32' | 'i32' | 'any' | 'same';
interface Param { name: string; want: Want; optional: boolean; variadic: boolean }

// "name:dtype", '?' optional, '*' any number (the rest of the arguments).
/** One signature for several ops, keeping their names as a type (Object.fromEntries would widen them to string). */
const each = <K extends string>(ops: readonly K[], sig: string) => Object.fromEntries(ops.map((op) => [op, sig])) as Record<K, string>;
const SIGNATURES = {
  ...each(['neg', 'exp', 'log', 'sqrt', 'relu', 'leakyRelu', 'sigmoid', 'tanh', 'abs', 'square', 'clamp',
    'affine', 'powScalar', 'sum', 'mean', 'max', 'min', 'argmax', 'softmax', 'logSoftmax', 'dropout', 'maxPool2d', 'reluMaxPool2d',
    'avgPool2d', 'adaptiveAvgPool2d', 'relu6', 'gradReverse'], 'x:f32'),
  ...each(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'gt', 'lt', 'ge', 'eq', 'matmul'], 'a:f32 b:f32'),
  ...each(['reshape', 'flatten', 'permute', 'transpose', 'expand', 'slice', 'detach'], 'x:any'),
  where: 'cond:f32 a:f32 b:f32',
  concat: 'xs:same*',
  assign: 'dst:same src:same',
  gather: 'x:f32 indices:i32',
  oneHot: 'labels:i32',
  crossEntropy: 'logits:f32 labels:i32',
  mseLoss: 'input:f32 target:f32',
  linear: 'x:f32 weight:f32 bias:f32?',
  linearRelu: 'x:f32 weight:f32 bias:f32?',
  conv2d: 'x:f32 weight:f32 bias:f32?',
  conv2dReluPool2x2: 'x:f32 weight:f32 bias:f32?',
  batchNormTrain: 'x:f32 weight:f32? bias:f32?',
  batchNormRunningUpdate: 'runningMean:f32 runningVar:f32 mean:f32 variance:f32',
  squash: 's:f32',
  capsulePredict: 'u:f32 weight:f32',
  capsuleWeightedSum: 'couplings:f32 predictions:f32',
  capsuleAgreement: 'predictions:f32 outputs:f32',
  capsuleRouting: 'predictions:f32 initialLogits:f32?',
  customGrad: 'inputs:any*',
  backward: 'output:f32 gradient:f32?',
};
/** Every op with a tensor signature: checkArgs() takes only these names (a typo does not compile). */
export type CheckedOp = keyof typeof SIGNATURES;

const parsed = new Map<string, Param[]>();
function params(op: CheckedOp): Param[] {
  let p = parsed.get(op);
  if (!p) {
    const sig = SIGNATURES[op];
    if (sig === undefined) throw new Error(`webgpu-transfer: internal: op '${op}' has no entry in SIGNATURES (src/graph/validate.ts)`);
    p = sig.split(' ').map((s) => {
      const m = /^(\w+):(\w+)([?*]?)$/.exec(s)!;
      return {name: m[1], want: m[2] as Want, optional: m[3] === '?', variadic: m[3] === '*'};
    });
    parsed.set(op, p);
  }
  return p;
}

// The op being run, for errors raised below it (allocation failures, a disposed buffer). Set at op entry.
let current: string | null = null;
export const currentOp = (): string | null => current;
export function setCurrentOp(op: string | null): void { current = op; }

const DTYPE_NAME = {f32: 'float32', i32: 'int32'} as const;

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array (${v.length} items): make a tensor first, wt.tensor(values, shape)`;
  return `${typeof v} ${typeof v === 'object' ? (v as object).constructor?.name ?? '' : String(v)}`.trim();
}

/**
 * Checks the tensor arguments of `op` against its signature: each is a live Tensor (not disposed, on the
 * current device) of the right dtype; optional ones may be null/undefined. Throws naming op and argument.
 */
export function checkArgs(op: CheckedOp, ...args: unknown[]): void {
  current = op;
  const ps = params(op);
  let same: Tensor | null = null;
  const check = (p: Param, v: unknown, label: string) => {
    if (v === undefined || v === null) {
      if (p.optional) return;
      throw new Error(`webgpu-transfer: ${op}: argument '${label}' is missing (got ${v})`);
    }
    const t = v as Tensor;
    if (!t.__isTensor) throw new Error(`webgpu-transfer: ${op}: argument '${label}' must be a Tensor, got ${describeValue(v)}`);
    if (t.disposed) throw new Error(`webgpu-transfer: ${op}: input '${label}' (${t.describe()}) was disposed`);
    if (t.stale) throw new Error(`webgpu-transfer: ${op}: input '${label}' (${t.describe()}) belongs to a device that was shut down (shutdown() or a new init()); create it again after init()`);
    if (p.want === 'f32' || p.want === 'i32') {
      if (t.dtype !== p.want) {
        throw new Error(`webgpu-transfer: ${op}: ${label} must be ${DTYPE_NAME[p.want]}, got ${t.describe()}` +
          (p.want === 'f32' ? ' (int32 tensors hold labels and indices; ops do not mix dtypes)' : ''));
      }
    } else if (p.want === 'same') {
      if (same && t.dtype !== same.dtype) {
        throw new Error(`webgpu-transfer: ${op}: inputs mix dtypes: '${label}' is ${t.describe()} but an earlier one is ${same.describe()}`);
      }
      same ??= t;
    }
  };
  let i = 0;
  for (const p of ps) {
    if (p.variadic) {
      for (; i < args.length; i++) check(p, args[i], `${p.name}[${i - ps.indexOf(p)}]`);
      break;
    }
    check(p, args[i], p.name);
    i++;
  }
}
