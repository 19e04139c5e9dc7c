// Imported first by the browser suite: captures what uvu prints (it binds console.log when it loads), and gives
// the shared test files the `process.env` they read for optional settings (uvu still sees no Node here).
const lines: string[] = [];
const log = console.log.bind(console);
console.log = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); log(...args); };
(globalThis as Record<string, unknown>).process ??= {env: {}};
(globalThis as Record<string, unknown>).UVU_DEFER = 1;
(globalThis as Record<string, unknown>).UVU_QUEUE = [['webgpu-transfer (browser)']];
export const captured = (): string => lines.join('');
