// Packs kernel parameters into the byte layout of a WGSL uniform struct (u32 / f32 fields, vec4<u32> arrays).
export class UniformWriter {
  private words: number[] = [];
  private kinds: ('u' | 'f')[] = [];
  u(...vals: number[]): this { for (const v of vals) { this.words.push(v >>> 0); this.kinds.push('u'); } return this; }
  f(...vals: number[]): this { for (const v of vals) { this.words.push(v); this.kinds.push('f'); } return this; }
  /** An array<vec4<u32>, 2>: 8 slots, zero-padded. */
  vec8(vals: number[]): this {
    if (vals.length > 8) throw new Error(`webgpu-transfer: rank ${vals.length} exceeds the kernels' maximum rank 8`);
    for (let i = 0; i < 8; i++) this.u(vals[i] ?? 0);
    return this;
  }
  /** Pads to a multiple of 16 bytes (uniform struct size rule). */
  build(): ArrayBuffer {
    while (this.words.length % 4) this.u(0);
    const buf = new ArrayBuffer(this.words.length * 4);
    const dv = new DataView(buf);
    this.words.forEach((w, i) => this.kinds[i] === 'u' ? dv.setUint32(i * 4, w, true) : dv.setFloat32(i * 4, w, true));
    return buf;
  }
}
export const uw = () => new UniformWriter();
