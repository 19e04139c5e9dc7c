// The hand-written matmul kernels (shaders/matmul/, a file each) and their grids: matmul_tiled (64 x 64 workgroup tiles),
// matmul_small (a thread per output), matmul_nt_vec4 (A @ B^T), matmul_vec4 (4 rows x 2 vec4 columns per thread)
// and matmul_reg (scalar loads).
import {MATMUL_KERNELS} from '../../shaders.js';

export type HandWrittenMatmul = 'matmul_tiled' | 'matmul_small' | 'matmul_nt_vec4' | 'matmul_vec4' | 'matmul_reg';
type Launch = Omit<Parameters<typeof MATMUL_KERNELS.matmul_reg.launch>[1], 'workgroups' | 'threads'>;

/** Columns of C one thread covers, by kernel (the register kernels' threads cover 4 rows each). */
const COLUMNS: Record<Exclude<HandWrittenMatmul, 'matmul_tiled' | 'matmul_small'>, number> =
  {matmul_nt_vec4: 4, matmul_vec4: 8, matmul_reg: 4};

/** Runs one hand-written kernel on an M x N product of `batch` matrices (matmul_tiled: batches x parts of K). */
export function launchHandWritten(kernel: HandWrittenMatmul, launch: Launch, M: number, N: number,
  batch: number): void {
  const def = MATMUL_KERNELS[kernel];
  if (kernel === 'matmul_tiled') {
    def.launch('main', {...launch, workgroups: [Math.ceil(N / 64), Math.ceil(M / 64), batch]});
    return;
  }
  const [wx, wy] = def.workgroupDims;
  if (kernel === 'matmul_small') {
    def.launch('main', {...launch, workgroups: [Math.ceil(N / wx), Math.ceil(M / wy), batch]});
    return;
  }
  def.launch('main', {...launch, workgroups: [Math.ceil(N / COLUMNS[kernel] / wx), Math.ceil(M / 4 / wy), batch]});
}
