// Where a compiled LeNet-5 training step's wall time goes on a CPU adapter (batch 64, SGD, measured kernel choices):
// the host thread's CPU time (our encoding, Dawn's execution of the commands, the driver's work on that thread, the
// texture uploads), the driver's worker threads' CPU time (the kernels), and the rest, when neither the host thread
// nor the busier worker runs (hand-offs between threads, one worker finishing a dispatch alone). Dawn's GL backend
// runs a submit's commands inside queue.submit(), and llvmpipe waits for each dispatch there, so a step is host work
// and kernels in turn. CPU times come from /proc/self/task (Linux), in clock ticks of 10 ms summed over the steps.
// Usage, after a build: node scripts/step-anatomy.mjs [llvmpipe|swiftshader] [steps, default 300]
//   (docs/kernel-measurements.md#step-anatomy)
import {readdirSync, readFileSync} from 'node:fs';

const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const n = Number(process.argv[3] ?? 300);
const r = wt.internals.rng(3);
const x = Float32Array.from({length: 64 * 784}, () => r()), y = Int32Array.from({length: 64}, (_, i) => i % 10);
wt.manualSeed(0);
const net = wt.models.fuse(wt.leNet5());
const opt = new wt.SGD(net.parameters(), {lr: 0.01});
const step = wt.compile([{shape: [64, 1, 28, 28]}, {shape: [64], dtype: 'i32'}], [x, y], (xb, yb) => wt.tidy(() => {
  const loss = wt.crossEntropy(net.forward(xb), yb);
  loss.backward(); opt.step(); opt.zeroGrad();
  return loss;
}));

// CPU milliseconds of each thread of this process so far (utime + stime; ticks of 10 ms).
const threadCpu = () => new Map(readdirSync('/proc/self/task').map((tid) => {
  const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [tid, (Number(fields[11]) + Number(fields[12])) * 10];
}));

// The machine's CPU time by state (/proc/stat, ms): a virtual machine's steal time is wall time when its vCPUs wanted
// to run and the hypervisor ran something else.
const machineCpu = () => {
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    .trim().split(/\s+/).map(Number);
  return {busy: (user + nice + system + irq + softirq) * 10, idle: (idle + iowait) * 10, steal: (steal || 0) * 10};
};

// Time inside queue.submit (Dawn executing the commands, the kernels included) and from the command encoder's
// creation to its submit (recording the step's commands).
const {device} = wt.internals.rt();
const submit = device.queue.submit.bind(device.queue), createEncoder = device.createCommandEncoder.bind(device);
let inSubmit = 0, encoding = 0, encoderAt = 0;
device.createCommandEncoder = (d) => { encoderAt = performance.now(); return createEncoder(d); };
device.queue.submit = (buffers) => {
  const t = performance.now();
  encoding += t - encoderAt;
  submit(buffers);
  inSubmit += performance.now() - t;
};

for (let i = 0; i < 10; i++) await step.run([x, y]).item();
inSubmit = encoding = 0;
let reading = 0;
const cpu0 = threadCpu(), machine0 = machineCpu(), t0 = performance.now();
for (let i = 0; i < n; i++) {
  const loss = step.run([x, y]);
  const t = performance.now();
  await loss.item();
  reading += performance.now() - t;
}
const wall = (performance.now() - t0) / n, cpu1 = threadCpu(), machine1 = machineCpu();
const used = [...cpu1].map(([tid, ms]) => [tid, (ms - (cpu0.get(tid) ?? 0)) / n]);
const host = used.find(([tid]) => tid === String(process.pid))?.[1] ?? 0;
// Threads other than the host thread that worked at least half a millisecond a step: the driver's workers
// (Node's and Dawn's helper threads stay below that).
const workers = used.filter(([tid, ms]) => tid !== String(process.pid) && ms >= 0.5).map(([, ms]) => ms);
const ms = (v) => `${v.toFixed(2)} ms`;
console.log(`${wt.adapter().backend}: ${wt.adapter().description}`);
console.log(`LeNet-5 step (batch 64, SGD), ${n} steps: ${step.dispatchCount} dispatches, ` +
  `${step.textureCopyCount} copies into staging textures, ${step.copyCount} buffer copies a step`);
console.log(`wall ${ms(wall)} a step: inside queue.submit ${ms(inSubmit / n)}, ` +
  `recording the commands ${ms(encoding / n)}, reading the loss back ${ms(reading / n)}`);
console.log(`CPU a step: host thread ${ms(host)}; ${workers.length} driver worker thread(s) ` +
  `${workers.map(ms).join(', ') || 'none'}`);
const busiest = Math.max(0, ...workers);
const perStep = (k) => (machine1[k] - machine0[k]) / n;
console.log(`the machine's CPUs a step: busy ${ms(perStep('busy'))}, idle ${ms(perStep('idle'))}, stolen by the ` +
  `hypervisor ${ms(perStep('steal'))}`);
// Through Dawn's GL backend host work and kernels take turns, so the rest is when neither the host thread nor the
// busier worker ran: the wake-ups of each dispatch's hand-off, and the other worker finishing a dispatch alone.
// Elsewhere (Vulkan: SwiftShader) the kernels run after submit() returns, beside the host thread.
if (inSubmit > 0.5 * (wall * n)) {
  console.log(`neither the host thread nor the busier worker running: ${ms(Math.max(0, wall - host - busiest))}`);
} else {
  console.log('the kernels ran after queue.submit() returned, beside the host thread: no time is left to split');
}
wt.shutdown();
