// The browser loader of the dataset recipes (recipes.ts): raw sets fetched over HTTP as WGT1 binaries (binary.ts),
// as the page server serves them under /data/, each fetched once per page.
import {decodeImageSet} from './binary.js';
import type {ImageSet} from './image-set.js';
import {makeDataset, rawSetsOf, type DatasetOptions, type RawSet, type Split} from './recipes.js';

const fetched = new Map<string, Promise<ImageSet>>();

/** One raw set from `base` + `<set>.bin` (default `./data/`), fetched once. */
export function fetchRawSet(set: RawSet, base = './data/'): Promise<ImageSet> {
  const url = `${base}${set}.bin`;
  if (!fetched.has(url)) {
    const p = fetch(url).then(async (r) => {
      if (!r.ok) throw new Error(`webgpu-transfer: could not load the dataset ${set} from ${url} (HTTP ${r.status})`);
      return decodeImageSet(new Uint8Array(await r.arrayBuffer()), `${set}.bin`);
    });
    p.catch(() => fetched.delete(url));  // a failed fetch may be retried
    fetched.set(url, p);
  }
  return fetched.get(url)!;
}

/** A named dataset (DATASETS) with the same split as Node's loadDataset, its raw sets fetched from `base`. */
export async function fetchDataset(name: string, opts: DatasetOptions = {}, base = './data/'): Promise<Split> {
  const sets = rawSetsOf(name);
  const raw = new Map(await Promise.all(sets.map(async (s) => [s, await fetchRawSet(s, base)] as const)));
  return makeDataset(name, (s) => raw.get(s)!, opts);
}
