// esbuild loads .wgsl files as text (see scripts/build.mjs), in Node and in the browser bundle alike.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
