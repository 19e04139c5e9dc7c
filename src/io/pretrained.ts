// The pretrained weights the package ships (pretrained/*.safetensors, made by `experiment pretrain` on CIFAR-10):
// found beside the installed package, so the CLI and scripts can name them instead of giving a path.
import {existsSync, readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

/** The package's pretrained/ folder: the first one above this module (dist/lib/node/... or src/io/...). */
export function pretrainedDir(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'pretrained'))) return join(d, 'pretrained');
    if (dirname(d) === d) throw new Error('webgpu-transfer: the package\'s pretrained/ folder is missing');
  }
}

/** The names of the shipped weights (file names without .safetensors). */
export function pretrainedNames(): string[] {
  return readdirSync(pretrainedDir()).filter((f) => f.endsWith('.safetensors')).map((f) => f.slice(0, -12)).sort();
}

/**
 * The path of shipped weights by name (`cifar_resnet-w16-l1111-c0-4`), or `pathOrName` itself when it names a file.
 * Throws listing the shipped names when it is neither.
 */
export function pretrainedWeights(pathOrName: string): string {
  if (existsSync(pathOrName)) return pathOrName;
  if (!/[\\/]/.test(pathOrName) && !pathOrName.endsWith('.safetensors')) {
    const p = join(pretrainedDir(), `${pathOrName}.safetensors`);
    if (existsSync(p)) return p;
    throw new Error(`webgpu-transfer: no weights file '${pathOrName}', and no shipped weights of that name ` +
      `(shipped: ${pretrainedNames().join(', ') || 'none'})`);
  }
  throw new Error(`webgpu-transfer: no such weights file: ${pathOrName}`);
}
