# The PyTorch peer of bench/tuned.ts on the same steps: LeNet-5 (batch 64, 28 px), MobileNetV2 x0.35 (32 px, batch
# 32) and ResNet-18 (224 px, batch 32), one SGD training step each, and matmul 4096^3; fp32 with TF32 off, cuDNN
# autotuned (benchmark=True): the peer at its best. Steady state: warm-up, then the median of 3 rounds of 20 steps.
# Usage: python3 bench/torch_steps.py [cuda|cpu] [lenet5,mobilenet_v2,resnet18,matmul]. Prints one JSON line each.
# To match scripts/step-time.mjs on the CPU: TORCH_STEPS_SIZE, TORCH_STEPS_BATCH and TORCH_STEPS_CLASSES set the photo
# models' input and head, TORCH_STEPS_OPT=adam trains with Adam (lr 1e-3) instead of SGD.
import json, os, sys, time
import torch
import torch.nn as nn
import torchvision

dev = sys.argv[1] if len(sys.argv) > 1 else ('cuda' if torch.cuda.is_available() else 'cpu')
which = (sys.argv[2] if len(sys.argv) > 2 else 'lenet5,mobilenet_v2,resnet18,matmul').split(',')
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True


def sync():
    if dev == 'cuda':
        torch.cuda.synchronize()


def steady_ms(step, per_round=20, rounds=3, warm=10):
    for _ in range(warm):
        step()
    sync()
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(per_round):
            t = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - t)
        medians.append(sorted(times)[len(times) // 2])
    return sorted(medians)[1] * 1e3


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def photo_setup(label, build, size, batch, classes):
    size, batch = int(os.environ.get('TORCH_STEPS_SIZE', size)), int(os.environ.get('TORCH_STEPS_BATCH', batch))
    classes = int(os.environ.get('TORCH_STEPS_CLASSES', classes))
    return (f'{label}, {size} px, batch {batch}', lambda: build(classes), (batch, 3, size, size), classes)


SETUPS = {
    'lenet5': ('LeNet-5, batch 64', lenet, (64, 1, 28, 28), 10),
    'mobilenet_v2': photo_setup('MobileNetV2 x0.35', lambda k: torchvision.models.mobilenet_v2(width_mult=0.35,
                                num_classes=k), 32, 32, 5),
    'resnet18': photo_setup('ResNet-18', lambda k: torchvision.models.resnet18(num_classes=k), 224, 32, 10),
}
adam = os.environ.get('TORCH_STEPS_OPT', 'sgd') == 'adam'

torch.manual_seed(0)
for name in which:
    if name == 'matmul':
        n = 4096 if dev == 'cuda' else 1024
        a, b = torch.rand(n, n, device=dev), torch.rand(n, n, device=dev)
        ms = steady_ms(lambda: torch.mm(a, b), per_round=10)
        print(json.dumps({'step': f'matmul {n}^3', 'device': dev, 'ms': ms, 'tflops': 2 * n ** 3 / ms / 1e9}), flush=True)
        continue
    label, build, shape, classes = SETUPS[name]
    model = build().to(dev)
    opt = (torch.optim.Adam if adam else torch.optim.SGD)(model.parameters(), lr=1e-3)
    x = torch.rand(*shape, device=dev)
    y = (torch.arange(shape[0], device=dev) % classes)
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(model(x), y).backward()
        opt.step()

    print(json.dumps({'step': label + (', Adam' if adam else ''), 'device': dev, 'threads': torch.get_num_threads(),
                      'ms': steady_ms(step, per_round=int(os.environ.get('TORCH_STEPS_PER_ROUND', 20)))}), flush=True)
