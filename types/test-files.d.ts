// Every test/*.test.ts, found at build time (scripts/build.mjs), ordered by their `// @test order` markers;
// nodeOnly: marked `// @test node-only`, kept out of the browser suite.
declare module 'virtual:test-files' {
  export const testFiles: {name: string; nodeOnly: boolean; order: number; load: () => Promise<unknown>}[];
}
