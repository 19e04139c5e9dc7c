// Imported first by test/run.ts: makes uvu queue suites instead of running each on import.
(globalThis as Record<string, unknown>).UVU_DEFER = 1;
(globalThis as Record<string, unknown>).UVU_QUEUE = [['webgpu-transfer']];
