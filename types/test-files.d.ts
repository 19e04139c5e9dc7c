// Every test/*.test.ts, found at build time (scripts/build.mjs), ordered by their `// @test order` markers;
// nodeOnly: marked `// @test node-only`, kept out of the browser suite; once: marked `// @test once`,
// adapter-independent, run by npm test on its first adapter only.
declare module 'virtual:test-files' {
  export const testFiles: {name: string; nodeOnly: boolean; order: number; once: boolean; load: () => Promise<unknown>}[];
}
