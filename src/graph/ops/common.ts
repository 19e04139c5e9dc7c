// Checks of non-tensor arguments, shared by the op families of this folder (tensor arguments are checked by
// checkArgs, validate.ts).
export const err = (op: string, msg: string) => new Error(`webgpu-transfer: ${op}: ${msg}`);
export function intArg(op: string, what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw err(op, `${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}
export function intList(op: string, what: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isInteger(d))) throw err(op, `${what} must be an array of integers, got ${JSON.stringify(v)}`);
  return v;
}

export const normAxis = (op: string, axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new Error(`webgpu-transfer: ${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
};
