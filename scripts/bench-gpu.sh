#!/bin/bash
# npm run bench:gpu: the benchmark and the kernel correctness suite on a hardware Vulkan adapter.
#   bash scripts/bench-gpu.sh prepare   here (no GPU needed): builds, and packs what the GPU machine lacks into
#                                       .gpu-carry/ (Node, Dawn for linux-x64, the TF.js packages) and .gl/ (the
#                                       Vulkan and GL loaders as Debian packages); both git-ignored
#   bash scripts/bench-gpu.sh slim      here: checks out HEAD without results/, pretrained/ and test/fixtures/ (a
#                                       detached commit), since the device tool sends at most 64 MiB and those hold
#                                       63; `restore` returns to the branch. Refuses with uncommitted changes.
#   bash scripts/bench-gpu.sh run       there (e.g. through the `device` tool with carry [".gpu-carry", ".gl"]):
#                                       unpacks, finds the NVIDIA Vulkan driver, checks that Dawn sees it, and writes
#                                       results to $OUT (or bench-results/gpu), part by part:
#     tests     the engine's kernel test files on 'vulkan' (the whole log in tests-full.txt)
#     kernels   matmul 4096^3 and each conv kernel's GFLOP/s and share of matmul (ResNet-18's at 224 px too)
#     steps     training steps on the tables' kernels and after measuring them (tune), then PyTorch CUDA's
#     lowered   the conv kernels lowered to matmul (im2col), against the implicit products
#     implicit128  the conv kernels as implicit products on 128 x 128 tiles (the weight gradient as the table's)
#     profile   the profiler's table of a LeNet step
#     bench     the bench against TF.js WebGPU
#   WGT_GPU_PARTS=tests,kernels,steps   runs those parts in that order (the default: all, in the order above). Each
#                                       part has a time limit, WGT_GPU_T_<PART> seconds (e.g. WGT_GPU_T_STEPS=200).
#                                       One device call of at most 600 s fits tests, kernels and steps:
#     WGT_GPU_PARTS=tests,kernels,steps WGT_GPU_T_TESTS=200 WGT_GPU_T_KERNELS=150 WGT_GPU_T_STEPS=170 bash ... run
#   WGT_GPU_DRY=1 bash scripts/bench-gpu.sh run   rehearses `run` here on llvmpipe with small sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
carry=.gpu-carry
# Keeps a folder of this script's out of git's view (.git/info/exclude), once.
exclude() {
  local f; f=$(git rev-parse --git-path info/exclude)
  grep -qx "$1" "$f" 2>/dev/null || echo "$1" >> "$f"
}
if [ "$mode" = prepare ]; then
  node scripts/build.mjs
  rm -rf "$carry" && mkdir -p "$carry/node_modules/webgpu/dist" "$carry/node_modules/@tensorflow"
  exclude /.gpu-carry/
  # Node itself is ~95 MB: carried xz-compressed (the device tool carries 64 MiB per call).
  nice xz -T1 -6 -c "$(readlink -f "$(command -v node)")" > "$carry/node.xz"
  nm=$(readlink -f node_modules)
  cp "$nm/webgpu/"*.js "$nm/webgpu/"*.json "$nm/webgpu/"*.mjs "$carry/node_modules/webgpu/" 2>/dev/null || true
  cp -r "$nm/webgpu/dist/linux-x64" "$carry/node_modules/webgpu/dist/"
  # TF.js: each package's package.json and its Node entry (main), plus what those require.
  for p in "$nm"/@tensorflow/*; do
    q=$(basename "$p"); main=$(node -p "require('$p/package.json').main")
    mkdir -p "$carry/node_modules/@tensorflow/$q/$(dirname "$main")"
    cp "$p/package.json" "$carry/node_modules/@tensorflow/$q/"
    cp "$p/$main" "$carry/node_modules/@tensorflow/$q/$main"
  done
  for d in seedrandom long node-fetch whatwg-url tr46 webidl-conversions string_decoder safe-buffer argparse; do
    [ -d "$nm/$d" ] && cp -r "$nm/$d" "$carry/node_modules/" || true
  done
  XZ_OPT="-T1 -6" nice tar cJf "$carry/node_modules.tar.xz" -C "$carry" node_modules && rm -rf "$carry/node_modules"
  # Only the entries the run uses (the whole dist/ is ~45 MB with browser bundles and source maps).
  mkdir -p "$carry/dist/bench" "$carry/dist/test"
  cp dist/bench/*.js "$carry/dist/bench/" && cp dist/test/perf-run.js "$carry/dist/test/"
  # The loaders Dawn needs to reach the NVIDIA driver, which that machine's image may lack (unpacked there by `run`).
  exclude /.gl/
  rm -rf .gl && mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 \
    libgles2) || echo "warning: no loaders downloaded into .gl (apt unreachable?): run needs the machine's own"
  du -sh "$carry" .gl
  echo "next: bash scripts/bench-gpu.sh slim; then the device call with carry [\".gpu-carry\", \".gl\"]; then restore"
  exit 0
fi
if [ "$mode" = slim ]; then
  # The device tool sends tracked files: a commit without the experiments' results, the pretrained weights and the
  # test fixtures (none of which the GPU run reads), checked out detached so nothing can be committed onto a branch.
  git diff --quiet HEAD || { echo "bench-gpu.sh slim: commit or stash your changes first" >&2; exit 1; }
  from=$(git symbolic-ref -q --short HEAD || git rev-parse HEAD)
  index=$(mktemp)
  GIT_INDEX_FILE=$index git read-tree HEAD
  GIT_INDEX_FILE=$index git rm -r -q --cached results pretrained test/fixtures
  commit=$(git commit-tree "$(GIT_INDEX_FILE=$index git write-tree)" -p HEAD -m "slim tree for the GPU machine")
  rm -f "$index"
  git checkout -q --detach "$commit"
  echo "$from" > "$(git rev-parse --git-path gpu-slim-from)"
  echo "slim: $(git ls-files -z | xargs -0 du -bc | tail -1 | cut -f1) bytes tracked;" \
    "back with: bash scripts/bench-gpu.sh restore"
  exit 0
fi
if [ "$mode" = restore ]; then
  f=$(git rev-parse --git-path gpu-slim-from)
  [ -f "$f" ] || { echo "bench-gpu.sh restore: no slim checkout to leave" >&2; exit 1; }
  git checkout -q "$(cat "$f")" && rm -f "$f" &&
    echo "restored: $(git symbolic-ref -q --short HEAD || git rev-parse HEAD)"
  exit 0
fi

out=${OUT:-bench-results/gpu}
mkdir -p "$out"
unxz() {   # xz -dc, or Python's lzma where the machine has no xz
  if command -v xz >/dev/null; then xz -dc "$1"; else
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
if [ -z "${WGT_GPU_DRY:-}" ]; then
  for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done; ldconfig || true
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
  # The carried Node always (one already there may be older than 20).
  if [ -f "$carry/node.xz" ]; then
    mkdir -p /tmp/node/bin && unxz "$carry/node.xz" > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
    export PATH=/tmp/node/bin:$PATH
  fi
  [ -d node_modules ] || unxz "$carry/node_modules.tar.xz" | tar x
  [ -f dist/bench/kernels.js ] || { mkdir -p dist && cp -r "$carry/dist/." dist/; }
  adapter=vulkan; mm=4096; py=${WGT_BENCH_PYTHON:-python3}
  { nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; node --version
    ldconfig -p | grep -E 'libvulkan|libGLdispatch|libGLX_nvidia'; } > "$out/gpu.txt" 2>&1 || true
else
  adapter=llvmpipe; mm=256; py=${WGT_BENCH_PYTHON:-/usr/bin/python3}
fi
set +e
# Dawn must see the adapter asked for before any part spends time: a GPU run on a CPU adapter measures nothing.
timeout 60 node scripts/gpu-preflight.mjs $adapter 2>&1 | grep -v artificially | tee -a "$out/gpu.txt"
[ "${PIPESTATUS[0]}" = 0 ] ||
  { echo "no $adapter adapter for this run (see above): stopping" | tee -a "$out/gpu.txt"; exit 1; }
limit() { local v="WGT_GPU_T_${1^^}"; echo "${!v:-$2}"; }
# The kernels bench into $out/$1.txt under part $2's limit, titled $3, with kernel preferences $4 (JSON; none: the
# tables').
kernels_part() {
  echo "== $3" | tee "$out/$1.txt"
  WGT_PREFS=${4:-} WGT_BENCH_MATMUL=$mm timeout "$(limit "$2" 300)" node dist/bench/kernels.js $adapter \
    ${WGT_GPU_DRY:+lenet} 2>&1 | grep -v artificially | tee -a "$out/$1.txt"
}
part() {
  case $1 in
  tests)
    echo "== kernel tests ($adapter)" | tee "$out/tests.txt"
    WGT_BACKEND=$adapter timeout "$(limit tests 300)" node dist/test/perf-run.js 2>&1 | grep -v artificially |
      tee "$out/tests-full.txt" | tail -8 | tee -a "$out/tests.txt";;
  kernels) kernels_part kernels kernels "kernels ($adapter, matmul ${mm}^3)";;
  # The same kernels lowered to matrix products (im2col), against the implicit products the GPU table takes.
  lowered) kernels_part kernels-lowered lowered "kernels lowered to matmul ($adapter)" '{"convLowering":"gemm"}';;
  implicit128) kernels_part kernels-implicit128 implicit128 \
    "kernels as implicit products on 128 x 128 tiles ($adapter)" '{"convLowering":"implicit128"}';;
  profile)
    echo "== profile of a LeNet step ($adapter)" | tee "$out/profile.txt"
    timeout "$(limit profile 120)" node dist/bench/profile.js $adapter 5 2>&1 | grep -v '^PROFILE\|artificially' |
      tee -a "$out/profile.txt";;
  bench)
    [ -n "${WGT_GPU_DRY:-}" ] && return
    echo "== bench ($adapter: ours vs TF.js WebGPU)" | tee "$out/bench.txt"
    # Its steps' kernel choices are measured before they are timed, hence a longer limit than the other parts.
    WGT_BENCH_PYTHON=$py WGT_BENCH_ADAPTERS=$adapter timeout "$(limit bench 420)" node dist/bench/bench.js 2>&1 |
      tee -a "$out/bench.txt";;
  steps)
    # Training steps on the tables' kernels and after measuring every variant on this adapter, then PyTorch on the
    # same steps (CUDA, fp32, TF32 off; bench/torch_steps.py), in the same run. Here Debian's torch stands in on CPU.
    echo "== training steps: tables vs measured choices ($adapter), and PyTorch" | tee "$out/steps.txt"
    local models=${WGT_GPU_MODELS:-lenet5,resnet18,mobilenet_v2} torchdev=cuda
    [ -n "${WGT_GPU_DRY:-}" ] && { models=lenet5; torchdev=cpu; }
    # PyTorch's share of the part's limit comes first, so a slow tune cannot take it.
    local t=$(limit steps 580); local tt=$(( t / 4 ))
    PYTHONUNBUFFERED=1 timeout "$tt" "$py" bench/torch_steps.py $torchdev $models,matmul 2>&1 | tee -a "$out/steps.txt"
    # Each model's tune gets a share of what is left, so that every model's row is printed within the limit.
    local n=$(( $(tr -cd , <<< "$models" | wc -c) + 1 ))
    WGT_TUNE_BUDGET_S=$(( (t - tt) / (2 * n) )) WGT_BENCH_BUDGET_S=60 timeout $(( t - tt )) node dist/bench/tuned.js \
      $adapter $models 2>&1 | grep -v artificially | tee -a "$out/steps.txt";;
  *) echo "unknown part '$1' (tests, kernels, steps, lowered, implicit128, profile, bench)" | tee -a "$out/gpu.txt";;
  esac
}
IFS=, read -ra order <<< "${WGT_GPU_PARTS:-tests,kernels,steps,lowered,implicit128,profile,bench}"
for p in "${order[@]}"; do part "$p"; done
echo "results in $out"
