// Compiles each WGSL kernel file once and each (entry point, override constants) variant once.
// Shapes travel in uniforms, so a variant serves every shape.

export interface KernelSource {
  /** File name under shaders/, used in error messages. */
  file: string;
  code: string;
  /** A shared file prepended to `code`: compile errors are reported at their line in whichever file has it. */
  prelude?: {file: string; lines: number};
}

/** file:line:column of a compile message, mapped back through the prelude. */
function where(src: KernelSource, line: number, col: number): string {
  const pre = src.prelude;
  if (pre && line <= pre.lines) return `shaders/${pre.file}:${line}:${col}`;
  return `shaders/${src.file}:${line - (pre?.lines ?? 0)}:${col}`;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  /** First asynchronous compile/validation error, thrown at the next submit. */
  pendingError: Error | null = null;
  compiled = 0;
  /** Error scopes not yet answered; reads wait for them so an error surfaces at the read that follows it. */
  outstanding = new Set<Promise<unknown>>();

  constructor(private device: GPUDevice) {}

  /** Compiles a kernel file and waits for Dawn's verdict; throws with the file name and Dawn's messages. */
  async check(src: KernelSource): Promise<void> {
    const mod = this.module(src);
    const info = await mod.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new Error(`webgpu-transfer: WGSL compile error in shaders/${src.file}:\n` +
        errors.map((m) => `  ${where(src, m.lineNum, m.linePos)}: ${m.message}`).join('\n'));
    }
  }

  private module(src: KernelSource): GPUShaderModule {
    let mod = this.modules.get(src.file);
    if (!mod) {
      mod = this.device.createShaderModule({label: src.file, code: src.code});
      this.modules.set(src.file, mod);
    }
    return mod;
  }

  get(src: KernelSource, entry: string, constants: Record<string, number> = {}): GPUComputePipeline {
    const keys = Object.keys(constants).sort();
    const key = `${src.file}:${entry}:${keys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    this.device.pushErrorScope('validation');
    p = this.device.createComputePipeline({
      label: key, layout: 'auto',
      compute: {module: this.module(src), entryPoint: entry, constants: keys.length ? constants : undefined},
    });
    const done = this.device.popErrorScope().then((err) => {
      if (err && !this.pendingError) {
        this.pendingError = new Error(`webgpu-transfer: pipeline for shaders/${src.file} entry '${entry}' (${key}) failed: ${err.message}`);
      }
    }).finally(() => this.outstanding.delete(done));
    this.outstanding.add(done);
    this.pipelines.set(key, p);
    this.compiled++;
    return p;
  }
}
