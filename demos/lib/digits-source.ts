// Shared by the transfer demos: the source task (MNIST digits 0-4) and the target task (digits 5-9, a few
// labels per class), and a LeNet-5 trained on the source once and cached in runs/demos/.
import {existsSync} from 'node:fs';
import * as wt from '../../src/node.js';

export async function start(): Promise<void> {
  await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.debug.formatReport(wt.adapter()));
}

const mnist = wt.loadDataset('mnist', {seed: 0});
export const source = {
  train: wt.data.selectClasses(mnist.train, [0, 1, 2, 3, 4]),
  test: wt.data.selectClasses(mnist.test, [0, 1, 2, 3, 4]),
};
const targetPool = wt.data.selectClasses(mnist.train, [5, 6, 7, 8, 9]);
export const target = {
  test: wt.data.selectClasses(mnist.test, [5, 6, 7, 8, 9]),
  /** n labelled images per class of digits 5-9, drawn with `seed`. */
  labelled: (n: number, seed = 0) => wt.data.subset(targetPool, wt.data.perClass(targetPool, n, seed)),
};

/** LeNet-5 on digits 0-4: trained for 400 steps the first time, then loaded from runs/demos/. */
export async function sourceModel(): Promise<wt.Sequential> {
  wt.manualSeed(0);
  const model = wt.leNet5(1, 5);
  const path = 'runs/demos/digits-0-4.safetensors';
  if (existsSync(path)) await wt.loadModel(path, model);
  else {
    console.log(`training the source model on ${source.train.n} images of digits 0-4 (cached in ${path})`);
    const optimizer = new wt.Adam(model.parameters(), {lr: 2e-3});
    const trainer = new wt.Trainer({model, optimizer, loader: new wt.DataLoader(source.train, {batch: 64}), steps: 400,
      schedule: new wt.CosineLR(optimizer, 400), test: source.test, evalEvery: 400, name: 'source 0-4'});
    await trainer.fit();
    trainer.dispose();
    optimizer.dispose();
    await wt.saveModel(path, model);
  }
  return model;
}
