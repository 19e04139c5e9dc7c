// The tile descriptors that the kernel preferences name and the generators expand into WGSL: a matmul register
// tile (matmul/register-tile.ts) and a conv tile (conv/tile-*.ts). Here, below both, so prefs.ts can name them.

/**
 * A generated matmul kernel's register tile: rows and vec4 columns per thread, vectorised k, spread rows, workgroup
 * size.
 */
export interface MatmulTile {
  rows: number; cols4: number; kvec: boolean; spread: boolean; wgx: number; wgy: number;
  /**
   * 'rows': the workgroup's wgx invocations (SIMD lanes on CPU drivers) take rows wgx apart and all share the
   * workgroup's columns, which come from workgroup_id: every B load is then uniform across the lanes (one load
   * and a broadcast on llvmpipe, not a gather) and only A is gathered. wgy must be 1.
   */
  lanes?: 'rows';
}

/** A generated conv kernel's tile: channel groups and pixels per thread, and what it holds in registers. */
export interface ConvTile {
  /** Vec4 groups of channels per thread (4 * groups channels) and neighbouring pixels per thread (0: per shape). */
  groups: number; pixels: number;
  /**
   * Forward only (the gradient tiles always hold their segments): hold a row segment of the input across a
   * kernel row's KW taps (as the input-gradient tile does with dy): the
   * segment's (pixels - 1) * SW + KW values are loaded once per (channel, kernel row) instead of pixels values per
   * tap, and the taps are unrolled (the kernel is generated per KW and SW). CPU drivers pay per load far more
   * than per multiply-add (llvmpipe's storage loads go lane by lane), so this cuts a 5x5 kernel's loads ~3x.
   */
  hoist?: boolean;
  /**
   * Set by the launchers (conv/tiles.ts, hoistedPixels) where a held row segment starts on a multiple of 4 floats:
   * load it as vec4s, a quarter of the loads (each of which llvmpipe runs lane by lane). Columns past a row's end
   * then read the next row (or, clamped, the buffer's last vec4) and are masked or never stored, as before.
   */
  segments4?: boolean;
  /**
   * Weight gradient only: kernel rows per thread (default 1). A thread holding R rows loads each dy vec4 once for
   * all R (R x KW x groups accumulators), where one row per thread loads it R times; dy's loads dominate that
   * kernel. 0 in a preference: chosen per shape (conv/tiles.ts, weightGradRows).
   */
  rows?: number;
  /**
   * Forward and input gradient: set by the launchers where the output rows are a multiple of 4 wide (and pixels a
   * multiple of 4): the accumulators are stored as vec4s of 4 neighbouring pixels, a quarter of the stores (which
   * llvmpipe, like its loads, runs lane by lane). A vec4 lies wholly inside a row or wholly past its end.
   */
  stores4?: boolean;
  /**
   * Weight gradient only: set by the launcher where dy's rows are a multiple of 4 wide (and pixels a multiple of 4):
   * the tile reads dy in place (NCHW) as vec4s of 4 neighbouring pixels of one channel, instead of a copy transposed
   * to vec4s of channels. Regrouping them into vec4s of channels costs nothing on CPU drivers (a vec4 is 4 separate
   * registers per lane), and the load count is the same: the transposing dispatch goes.
   */
  dyDirect4?: boolean;
  /**
   * Set by the launchers where one thread holds every channel its vec4s run over (the forward's and the weight
   * gradient's output channels, the input gradient's input channels: at most 4 * groups): how many are real. Each
   * group then keeps only its real lanes (vec3, vec2, f32, or nothing), so no multiply-add, load or store serves a
   * padding channel. CPU drivers run each lane of a vec4 as its own SIMD instruction, so LeNet's 6 channels in two
   * vec4 groups had spent a quarter of their multiply-adds on padding (docs/kernel-measurements.md#conv-lanes).
   */
  lanes?: number;
  /**
   * Input gradient only: set by the launcher where one tile spans a whole row (pixels >= W), with the convolution's
   * column padding and dy's row width. Every segment column is then known when the kernel is generated, so the
   * columns that fall in the padding are neither loaded nor multiplied (LeNet's conv2, 12-wide rows from 8-wide dy
   * rows through 5 taps: a third of the multiply-adds had been on padding;
   * docs/kernel-measurements.md#conv-whole-row). With the strides (SH, SW; default 1) the tile serves strided
   * convolutions too: pixel q takes tap kw only where q + PW - kw is a multiple of SW (known here), and the kernel
   * rows step by SH from the one whose dy row is whole.
   */
  wholeRow?: {PW: number; OW: number; SH?: number; SW?: number};
  /**
   * Whole-row input-gradient tiles and hoisting forward tiles with re-laid weights: images per thread (default 1).
   * The thread's images share each weight load (conv/tiles.ts, imagesPerThread).
   */
  images?: number;
  /**
   * Weight gradient only: set by the launcher where nothing the tile reads can fall outside its tensor or past its
   * channels (no padding, OW a multiple of pixels, KH of rows, K of the thread's real channels). The bounds tests,
   * clamps and selects around each load are then left out (docs/kernel-measurements.md#conv-exact).
   */
  exact?: boolean;
  /**
   * Weight gradient only: set by the launcher where the conv has a bias and every (image, output row) pair of a
   * thread's part is visited (no padded rows skipped). The threads of input channel 0 and the first kernel rows also
   * sum the dy values they load: the bias gradient, with no dispatch of its own.
   */
  bias?: boolean;
  /**
   * Forward only, hoisting tiles that hold every output channel and read their weights as a uniform array: set by
   * the launcher where the input channels times kernel rows are few. The (c, kernel row) loops are then unrolled
   * and the weights read in their own layout [K, C, KH, KW] at constant indices, so the re-laying copy, a dispatch
   * of its own, goes (docs/kernel-measurements.md#conv-native-weights).
   */
  nativeWeights?: {C: number; KH: number; K: number};
  /**
   * Set by the launchers where the table's 'tile-texture' variant runs: the tile reads its activations (x in the
   * forward, dy in the input gradient, both in the weight gradient) through staging textures, whose loads llvmpipe
   * before Mesa 26 gathers several times cheaper than storage ones (docs/kernel-measurements.md#conv-tile-texture).
   */
  texture?: boolean;
}
