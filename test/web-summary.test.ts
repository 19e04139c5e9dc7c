// The live page's closing line (demos/web/summary.ts): each setup's final accuracies are named for what they measure.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {doneMessage} from '../demos/web/summary.js';

const t = suite('web page: the closing line of a run');

t('DANN names its target and source domains; it has no source task to keep', () => {
  const line = doneMessage('dann', 'mnist-m2', {test_accuracy: 0.4321, source_accuracy: 0.107});
  assert.is(line, 'done: target domain mnist-m2: test accuracy 43.21%; source domain MNIST: test accuracy 10.70%');
  assert.not.match(line, /still/);
});

t('the two-phase setups report the source task after the target training; plain training its test accuracy', () => {
  for (const demo of ['conservative', 'finetune', 'layer']) {
    assert.is(doneMessage(demo, 'mnist', {test_accuracy: 0.9, source_accuracy: 0.95}),
      'done: test accuracy 90.00%; the source task still at 95.00%', demo);
  }
  assert.is(doneMessage('plain', 'fashion-mnist', {test_accuracy: 0.8765}), 'done: test accuracy 87.65%');
});

t.run();
