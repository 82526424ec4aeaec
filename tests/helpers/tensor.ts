// Tensors from plain values for kernel tests.
import type { DType } from '../../graph/dtype.js';
import { type HostTensor, makeTensor } from '../../graph/tensor.js';

/** A tensor of `dtype` holding `values` as given (float16: the values are the raw bits). */
export function T(dtype: DType, dims: number[], values: readonly (number | bigint | string | boolean)[]): HostTensor {
  const data = dtype === 'string' ? values.map(String)
    : dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v as number | bigint))
      : dtype === 'uint64' ? BigUint64Array.from(values, (v) => BigInt(v as number | bigint))
        : dtype === 'float32' ? Float32Array.from(values as number[])
          : dtype === 'float64' ? Float64Array.from(values as number[])
            : dtype === 'int32' ? Int32Array.from(values as number[])
              : dtype === 'int8' ? Int8Array.from(values as number[])
                : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(values as number[], Number)
                  : dtype === 'uint32' ? Uint32Array.from(values as number[])
                    : dtype === 'int16' ? Int16Array.from(values as number[])
                      : Uint16Array.from(values as number[]);
  return makeTensor(dtype, dims, data as never);
}
