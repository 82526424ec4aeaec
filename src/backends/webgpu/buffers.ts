/// <reference types="@webgpu/types" />
// GPU buffers pooled by usage and size bucket. A released buffer waits in `pending` until the
// submit that used it has been issued (queue order then keeps later writes behind it), then
// becomes reusable. Buffers are destroyed explicitly: Dawn frees them only after a submit, so
// trimming submits an empty command buffer.

export interface BufferStats {
  /** Bytes in buffers handed out and not released. */
  live: number;
  /** Bytes in released buffers kept for reuse (pending included). */
  pooled: number;
  /** Bytes in all buffers this pool has created and not destroyed. */
  allocated: number;
  /** Buffers created / reused from the pool since the start. */
  created: number;
  reused: number;
}

/** Bucket sizes: multiples of 256 bytes up to 4 KiB, then quarter steps between powers of two. */
/** Write `data` at the start of `buffer`, zero-padded to whole words (writeBuffer wants a multiple of 4 bytes). */
export function writePadded(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView): void {
  const padded = data.byteLength % 4 === 0 ? data : (() => {
    const c = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    c.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return c;
  })();
  if (padded.byteLength > 0) device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, padded.byteLength);
}

export function bucketSize(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly live = new Set<GPUBuffer>();
  private readonly stat: BufferStats = { live: 0, pooled: 0, allocated: 0, created: 0, reused: 0 };

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label = 'tgraph'): GPUBuffer {
    const size = bucketSize(bytes);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    let buf = list?.pop();
    if (buf) {
      this.stat.reused++;
      this.stat.pooled -= size;
    } else {
      buf = this.device.createBuffer({ size, usage, label });
      this.stat.created++;
      this.stat.allocated += size;
    }
    this.live.add(buf);
    this.stat.live += size;
    return buf;
  }

  /** Give a buffer back; it is reused only after the next `afterSubmit()`. */
  release(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) return;
    this.stat.live -= buf.size;
    this.stat.pooled += buf.size;
    this.pending.push(buf);
  }

  /** Call right after queue.submit(): buffers released before it become reusable. */
  afterSubmit(): void {
    for (const b of this.pending) {
      const key = `${b.usage}:${b.size}`;
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      list.push(b);
    }
    this.pending = [];
  }

  stats(): BufferStats {
    return { ...this.stat };
  }

  /** Destroy pooled (not live, not pending) buffers and let Dawn free them. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stat.pooled -= b.size;
        this.stat.allocated -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
    this.device.queue.submit([]);
  }

  /** Destroy everything (the pool is not used afterwards). */
  destroy(): void {
    this.afterSubmit();
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.stat.live = 0;
    this.stat.allocated = 0;
    this.device.queue.submit([]);
  }
}
