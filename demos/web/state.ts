// What the page publishes as globalThis.wgtPage, for scripts and tests to read: the built-in demos' run state at
// the top level, and one object per view (images, multitask, capsnet) that the view fills in.

export type RunState = 'idle' | 'loading' | 'training' | 'stopped' | 'done' | 'error';

export const page = {
  state: 'idle' as RunState,
  records: 0, evaluations: [] as {phase: string; step: number; accuracy: number}[], final: null as null | Record<string, number>,
  adapter: '', error: '', pcaUpdates: 0,
  /** The view on show: 'builtin', 'images', 'multitask' or 'capsnet'. */
  view: 'builtin',
  views: {} as Record<string, Record<string, unknown>>,
  /** Milliseconds from each pointer press or key press to its handling: how the page answers while it trains. */
  inputLatencies: [] as number[],
};
// Measured at the window, before any view's handler: event time to now (the main thread's backlog).
for (const ev of ['pointerdown', 'keydown'] as const) {
  addEventListener(ev, (e) => { page.inputLatencies.push(performance.now() - e.timeStamp); }, {capture: true});
}
(globalThis as Record<string, unknown>).wgtPage = page;

/** One training at a time on the page's one device: a view takes the lock before it trains. */
export const device = {
  owner: null as string | null,
  take(who: string): boolean {
    if (this.owner && this.owner !== who) return false;
    this.owner = who;
    return true;
  },
  release(who: string): void { if (this.owner === who) this.owner = null; },
};

/** A run that failed: its view's state and error set, the message on its status line, the stack in the console. */
export function failed(view: {state: string; error: string}, status: (line: string) => void, e: unknown): void {
  view.state = 'error';
  view.error = (e as Error).message;
  status(`error: ${view.error}`);
  console.error(e);
}
