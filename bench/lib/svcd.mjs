// Loads svcd's TypeScript sources (src/) through tsx, so the benchmarks measure the code as it is in the tree and
// need no `npm run build`. BENCH_DIST=1 loads the compiled dist/ instead.
import { register } from "tsx/esm/api";

const useDist = process.env.BENCH_DIST === "1";
if (!useDist) register();
const root = new URL(useDist ? "../../dist/" : "../../src/", import.meta.url);

/** Imports one layer's public door (`index.js`) or a file, relative to src/ (or dist/). */
export function load(path) {
  return import(new URL(path, root).href);
}

/** Imports a test-rig module (always TypeScript, always through tsx). */
export function loadRig(name) {
  if (useDist) register();
  return import(new URL(`../../test/rig/${name}.ts`, import.meta.url).href);
}
