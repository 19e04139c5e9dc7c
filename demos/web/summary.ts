// The page's closing status line: what a finished run's final accuracies measure, by setup. No DOM, so it is tested
// in Node (test/web-summary.test.ts).

export interface FinalAccuracy { test_accuracy: number; source_accuracy?: number }
const pct = (a: number) => `${(100 * a).toFixed(2)}%`;

/**
 * The line shown when a run ends. DANN's test accuracy is on the target domain (`dataset`) and its source accuracy
 * on MNIST, the labelled domain it adapts from; the two-phase setups (fine-tuning, conservative, layer transfer)
 * report how much of the source task (digits 0-4) the target training left.
 */
export function doneMessage(demo: string, dataset: string, final: FinalAccuracy): string {
  if (demo === 'dann') {
    return `done: target domain ${dataset}: test accuracy ${pct(final.test_accuracy)}` +
      (final.source_accuracy !== undefined ? `; source domain MNIST: test accuracy ${pct(final.source_accuracy)}` : '');
  }
  return `done: test accuracy ${pct(final.test_accuracy)}` +
    (final.source_accuracy !== undefined ? `; the source task still at ${pct(final.source_accuracy)}` : '');
}
