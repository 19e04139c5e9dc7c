// Signals and run folders for the training commands (train, finetune): a lock released at any exit, and Ctrl-C
// that stops after the current step and saves a checkpoint to resume from.
import type {Trainer, TrainResult} from '../../src/train/trainer.js';
import {SIGNALS} from './flags.js';

type Signal = keyof typeof SIGNALS;
const note = (msg: string) => console.error(`webgpu-transfer: ${msg}`);

/** Set while training and saving: takes a signal (returns true) or lets it quit the process (returns false). */
let interrupt: ((sig: Signal) => boolean) | null = null;
let stoppedBy: Signal | undefined;

/** Whether a signal asked the running training to stop (the Trainer's shouldStop). */
export const stopRequested = (): boolean => stoppedBy !== undefined;

/**
 * Runs `release` at any exit: normal, an error (fail), or a signal, which would otherwise end the process
 * without 'exit' handlers and leave the run folder locked.
 */
export function onExit(release: () => void): void {
  process.on('exit', release);
  for (const sig of Object.keys(SIGNALS) as Signal[]) {
    process.on(sig, () => {
      if (interrupt?.(sig)) return;
      console.error(`webgpu-transfer: stopped by ${sig}`);
      process.exit(SIGNALS[sig]);
    });
  }
}

/**
 * trainer.fit() where the first signal stops after the current step and saves a checkpoint, a second waits for
 * that save, and a third quits without it. A save's files land in one synchronous run, so quitting at any await
 * keeps a whole pair (the previous one). After a stop the process exits with the signal's code.
 */
export async function fitInterruptibly(trainer: Trainer, run: {out: string; checkpointPath: string; fromStep: number}):
  Promise<TrainResult> {
  let signals = 0;
  interrupt = (sig) => {
    signals++;
    if (signals === 1) {
      stoppedBy = sig;
      note(`${sig}: stopping after step ${trainer.step} to save a checkpoint`);
    } else if (signals === 2) {
      note(`${sig} again: waiting for the checkpoint to be saved (a third ${sig} quits without saving it)`);
    } else {
      note(`${sig} a third time: quitting without saving; ${run.out} keeps its last complete checkpoint, if it has one`);
      return false;
    }
    return true;
  };
  const res = await trainer.fit();
  if (res.stopped && stoppedBy) {
    // Work since the last checkpoint is kept: the run resumes from here exactly.
    if (res.step > run.fromStep) await trainer.checkpoint();
    interrupt = null;
    console.error(`webgpu-transfer: stopped by ${stoppedBy} at step ${res.step}; ${res.step > run.fromStep
      ? `checkpoint saved: continue with --resume ${run.checkpointPath}` : 'no step was trained, nothing saved'}`);
    process.exit(SIGNALS[stoppedBy]);
  }
  interrupt = null;
  return res;
}
