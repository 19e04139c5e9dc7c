#!/bin/bash
# npm run bench:gpu: the benchmark and the kernel correctness suite on a hardware Vulkan adapter, in one go.
#   bash scripts/bench-gpu.sh prepare   here (no GPU needed): builds, and packs what the GPU machine lacks into
#                                       .gpu-carry/ (Node, Dawn for linux-x64, the TF.js packages; git-ignored)
#   bash scripts/bench-gpu.sh run       there (e.g. through the `device` tool with carry [".gpu-carry"]):
#                                       unpacks, finds the NVIDIA Vulkan driver, and writes results to $OUT (or
#                                       bench-results/gpu): matmul 4096^3 / 1024^3 and each conv kernel's GFLOP/s,
#                                       the LeNet step vs TF.js WebGPU, training steps on the tables' kernels and
#                                       after measuring them (tune) beside PyTorch CUDA's, and the kernel test
#                                       files on 'vulkan'.
#   WGT_GPU_DRY=1 bash scripts/bench-gpu.sh run   rehearses `run` here on llvmpipe with small sizes.
#   WGT_GPU_PARTS=steps,tests bash scripts/bench-gpu.sh run   runs only those parts (kernels, lowered, profile, bench,
#                                       steps, tests), so that each fits one call of a device with a time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
carry=.gpu-carry
if [ "$mode" = prepare ]; then
  node scripts/build.mjs
  rm -rf "$carry" && mkdir -p "$carry/node_modules/webgpu/dist" "$carry/node_modules/@tensorflow"
  grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo '/.gpu-carry/' >> "$(git rev-parse --git-path info/exclude)"
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
  du -sh "$carry"
  echo "carry [\".gpu-carry\"] (the device tool carries at most 64 MiB; tracked files travel by themselves)"
  exit 0
fi

out=${OUT:-bench-results/gpu}
mkdir -p "$out"
if [ -z "${WGT_GPU_DRY:-}" ]; then
  for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done; ldconfig || true
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_ICD_FILENAMES=$icd
  if ! command -v node >/dev/null; then
    mkdir -p /tmp/node/bin && xz -dc "$carry/node.xz" > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
    export PATH=/tmp/node/bin:$PATH
  fi
  [ -d node_modules ] || tar xJf "$carry/node_modules.tar.xz"
  [ -f dist/bench/kernels.js ] || { mkdir -p dist && cp -r "$carry/dist/." dist/; }
  adapter=vulkan; mm=4096
  nvidia-smi --query-gpu=name,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1 || true
else
  adapter=llvmpipe; mm=256
fi
set +e
parts=${WGT_GPU_PARTS:-kernels,lowered,profile,bench,steps,tests}
want() { [[ ",$parts," == *",$1,"* ]]; }
if want kernels; then
  echo "== kernels ($adapter, matmul ${mm}^3)" | tee "$out/kernels.txt"
  WGT_BENCH_MATMUL=$mm timeout 300 node dist/bench/kernels.js $adapter ${WGT_GPU_DRY:+lenet} 2>&1 | grep -v artificially | tee -a "$out/kernels.txt"
fi
if want lowered; then
  # The same kernels lowered to matrix products (im2col), against the implicit products the GPU table takes.
  echo "== kernels lowered to matmul ($adapter)" | tee "$out/kernels-lowered.txt"
  WGT_PREFS='{"convLowering":"gemm"}' WGT_BENCH_MATMUL=$mm timeout 300 node dist/bench/kernels.js $adapter ${WGT_GPU_DRY:+lenet} 2>&1 | grep -v artificially | tee -a "$out/kernels-lowered.txt"
fi
if want profile; then
  echo "== profile of a LeNet step ($adapter)" | tee "$out/profile.txt"
  timeout 120 node dist/bench/profile.js $adapter 5 2>&1 | grep -v '^PROFILE\|artificially' | tee -a "$out/profile.txt"
fi
if want bench && [ -z "${WGT_GPU_DRY:-}" ]; then
  echo "== bench ($adapter: ours vs TF.js WebGPU)" | tee "$out/bench.txt"
  # Its steps' kernel choices are measured before they are timed, hence a longer limit than the other parts.
  WGT_BENCH_ADAPTERS=$adapter timeout 420 node dist/bench/bench.js 2>&1 | tee -a "$out/bench.txt"
fi
if want steps; then
  # Training steps on the tables' kernels and after measuring every variant on this adapter, then PyTorch on the
  # same steps (CUDA, fp32, TF32 off; bench/torch_steps.py), in the same run.
  echo "== training steps: tables vs measured choices ($adapter), and PyTorch" | tee "$out/steps.txt"
  # PyTorch: the GPU machine's python3 has CUDA; here Debian's (python3-torch) is the CPU stand-in.
  models=lenet5,mobilenet_v2,resnet18; torchdev=cuda; py=${WGT_BENCH_PYTHON:-python3}
  [ -n "${WGT_GPU_DRY:-}" ] && { models=lenet5; torchdev=cpu; py=${WGT_BENCH_PYTHON:-/usr/bin/python3}; }
  WGT_BENCH_BUDGET_S=60 timeout 400 node dist/bench/tuned.js $adapter $models 2>&1 | grep -v artificially | tee -a "$out/steps.txt"
  timeout 180 "$py" bench/torch_steps.py $torchdev $models,matmul 2>&1 | tee -a "$out/steps.txt"
fi
if want tests; then
  echo "== kernel tests ($adapter)" | tee "$out/tests.txt"
  WGT_BACKEND=$adapter timeout 300 node dist/test/perf-run.js 2>&1 | grep -v artificially | tail -8 | tee -a "$out/tests.txt"
fi
echo "results in $out"
