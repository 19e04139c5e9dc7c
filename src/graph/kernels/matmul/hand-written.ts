// The hand-written matmul kernels (shaders/matmul/, a file each but the workgroup tiles' two in one) and their grids:
// matmul_tiled (64 x 64 workgroup tiles), matmul_tiled128 (128 x 128), matmul_small (a thread per output),
// matmul_nt_vec4 (A @ B^T), matmul_vec4 (4 rows x 2 vec4 columns per thread) and matmul_reg (scalar loads).
import {MATMUL_KERNELS, MATMUL_TILED} from '../../shaders.js';

export type HandWrittenMatmul = 'matmul_tiled' | 'matmul_tiled128' | 'matmul_small' | 'matmul_nt_vec4' | 'matmul_vec4' |
  'matmul_reg';
type Launch = Omit<Parameters<typeof MATMUL_KERNELS.matmul_reg.launch>[1], 'workgroups' | 'threads'>;

/** Columns of C one thread covers, by kernel (the register kernels' threads cover 4 rows each). */
const COLUMNS: Record<Exclude<HandWrittenMatmul, 'matmul_tiled' | 'matmul_tiled128' | 'matmul_small'>, number> =
  {matmul_nt_vec4: 4, matmul_vec4: 8, matmul_reg: 4};

/** The workgroup-tile kernels: each one's entry in shaders/matmul/tiled.wgsl and its square output tile. */
export const TILED = {matmul_tiled: {entry: 'main', size: 64}, matmul_tiled128: {entry: 'main128', size: 128}} as const;

/** Runs one hand-written kernel on an M x N product of `batch` matrices (matmul_tiled: batches x parts of K). */
export function launchHandWritten(kernel: HandWrittenMatmul, launch: Launch, M: number, N: number,
  batch: number): void {
  if (kernel === 'matmul_tiled' || kernel === 'matmul_tiled128') {
    const {entry, size} = TILED[kernel];
    MATMUL_TILED.launch(entry, {...launch, workgroups: [Math.ceil(N / size), Math.ceil(M / size), batch]});
    return;
  }
  const def = MATMUL_KERNELS[kernel];
  const [wx, wy] = def.workgroupDims;
  if (kernel === 'matmul_small') {
    def.launch('main', {...launch, workgroups: [Math.ceil(N / wx), Math.ceil(M / wy), batch]});
    return;
  }
  def.launch('main', {...launch, workgroups: [Math.ceil(N / COLUMNS[kernel] / wx), Math.ceil(M / 4 / wy), batch]});
}
