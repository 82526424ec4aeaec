// Arrays known not to change for as long as they live: a model's initializers, registered by the CPU
// backend when it compiles the model. Kernels may keep derived forms of them (packed GEMM panels)
// keyed by the array itself. Nothing else may be assumed constant: feeds are the caller's arrays.

const constants = new WeakSet<object>();

/** Register an initializer's data array as constant. */
export function markConstant(data: object): void {
  constants.add(data);
}

export function isConstant(data: object): boolean {
  return constants.has(data);
}
