// Loading ONNX models from paths (Node) or bytes; external data confined to the model's folder.
import { ExternalDataError, ModelLoadError } from '../graph/errors.js';
import type { Model } from '../graph/ir.js';
import { importModel } from '../graph/onnx/import.js';
import { expandGradients } from '../graph/passes/index.js';
import { evaluateConstantNode } from '../kernels/cpu/evaluate.js';

export type ModelSource = string | Uint8Array | ArrayBuffer;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Load and lower: Gradient nodes (ai.onnx.preview.training) become explicit backward nodes. */
export async function loadModel(src: ModelSource): Promise<Model> {
  const model = await readModel(src);
  expandGradients(model, evaluateConstantNode);
  return model;
}

async function readModel(src: ModelSource): Promise<Model> {
  if (typeof src !== 'string') {
    const bytes = src instanceof Uint8Array ? src : new Uint8Array(src);
    return importModel(bytes, { source: '(bytes)' });
  }
  if (!isNode) {
    const res = await fetch(src);
    if (!res.ok) throw new ModelLoadError(`could not fetch the model: HTTP ${res.status}`, src);
    return importModel(new Uint8Array(await res.arrayBuffer()), { source: src });
  }
  const fs = await import('node:fs');
  const path = await import('node:path');
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(src);
  } catch (e) {
    throw new ModelLoadError(`could not read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, src, { cause: e });
  }
  const dir = fs.realpathSync(path.dirname(path.resolve(src)));
  const external = (location: string, offset: number, length: number | undefined): Uint8Array => {
    if (path.isAbsolute(location) || location.includes('\0')) {
      throw new ExternalDataError(`external data path '${location}' is absolute; only paths inside the model's folder are allowed`, src);
    }
    const full = path.resolve(dir, location);
    let real: string;
    try {
      real = fs.realpathSync(full);
    } catch {
      throw new ExternalDataError(`external data file '${location}' does not exist`, src);
    }
    const rel = path.relative(dir, real);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new ExternalDataError(`external data path '${location}' leaves the model's folder (refused)`, src);
    }
    const fd = fs.openSync(real, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = length ?? size - offset;
      if (offset < 0 || offset + len > size) throw new ExternalDataError(`external data '${location}' has ${size} bytes; offset ${offset} + length ${len} reads past its end`, src);
      const buf = new Uint8Array(len);
      fs.readSync(fd, buf, 0, len, offset);
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  };
  return importModel(bytes, { source: src, external });
}
