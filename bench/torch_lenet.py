# Native PyTorch CPU peer for bench/bench.ts: the same LeNet-5 training step (batch 64, SGD lr 0.01,
# conv 1->6 5x5, maxpool 2, conv 6->16 5x5, maxpool 2, fc 256->120->84->10, ReLU, cross-entropy).
# Usage: /usr/bin/python3 bench/torch_lenet.py <threads|0 for default> <iters>. Prints one JSON line.
# Or: ... <threads> serve: after warm-up prints "ready", then for each line n on stdin runs n timed steps and prints
# their times as a JSON list, until stdin closes (bench/worker.ts times rounds of ours and these in turn, so the
# machine's drift, large on shared cores, hits both alike). <threads> = best: the peer at its best, the PyTorch
# thread count (1 to the core count) whose steps measured fastest after warm-up. The bench runs it with
# OPENBLAS_NUM_THREADS=1 (harness.ts torchEnv): OpenBLAS's own threads inside PyTorch's oversubscribe the cores. On a
# 2-core machine PyTorch 2.6 ran LeNet in 28-117 ms on 2 threads with OpenBLAS threaded, 2.75 ms with it on one.
import json, os, re, sys, time
import torch
import torch.nn as nn


def blas():
    """The BLAS this process loaded (after a matmul), from its memory map: OpenBLAS or Debian's reference libblas3."""
    torch.mm(torch.rand(8, 8), torch.rand(8, 8))
    with open('/proc/self/maps') as f:
        libs = sorted({line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line})
    for p in libs:
        m = re.search(r'libopenblas(\w*)-r([\d.]+)\.so', p)
        if m:
            return f'OpenBLAS {m.group(2)}' + (' (pthreads)' if m.group(1) == 'p' else ' (OpenMP)' if m.group(1) == 'o' else '')
    if any('openblas' in p for p in libs):
        return 'OpenBLAS'
    if any('/blas/' in p for p in libs):
        return 'reference BLAS, libblas3 (slow: apt-get install libopenblas0-pthread)'
    return ', '.join(libs) or 'none found'


best = len(sys.argv) > 1 and sys.argv[1] == 'best'
threads = 0 if best else int(sys.argv[1]) if len(sys.argv) > 1 else 0
serve = len(sys.argv) > 2 and sys.argv[2] == 'serve'
iters = 0 if serve else int(sys.argv[2]) if len(sys.argv) > 2 else 20
if threads > 0:
    torch.set_num_threads(threads)
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(64, 1, 28, 28)
y = torch.arange(64) % 10
lossf = nn.CrossEntropyLoss()

def step():
    opt.zero_grad()
    loss = lossf(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

for _ in range(3):
    step()


def median_step(n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[n // 2]


tried = {}
if best:
    counts = list(range(1, len(os.sched_getaffinity(0)) + 1))
    # Each count twice, interleaved, so drift hits all alike; the faster median of the two per count.
    for _ in range(2):
        for n in counts:
            torch.set_num_threads(n)
            step()
            tried[str(n)] = min(tried.get(str(n), float('inf')), median_step(15))
    torch.set_num_threads(int(min(tried, key=tried.get)))
if serve:
    print('ready ' + json.dumps({'blas': blas(), 'threads': torch.get_num_threads(),
                                 'blas_threads': os.environ.get('OPENBLAS_NUM_THREADS'), 'tried': tried}), flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        print(json.dumps(times), flush=True)
    sys.exit(0)
ts = []
for _ in range(iters):
    t = time.perf_counter()
    step()
    ts.append(time.perf_counter() - t)
ts.sort()
n = 1024
a, b = torch.rand(n, n), torch.rand(n, n)
mm = []
for _ in range(5):
    t = time.perf_counter()
    torch.mm(a, b)
    mm.append(time.perf_counter() - t)
mm.sort()
print(json.dumps({'torch': torch.__version__, 'blas': blas(), 'threads': torch.get_num_threads(), 'lenet_step_s': ts[len(ts) // 2],
                  'matmul1024_gflops': 2 * n ** 3 / mm[len(mm) // 2] / 1e9}))
