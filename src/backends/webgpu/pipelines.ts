/// <reference types="@webgpu/types" />
// Compute pipelines cached by the key of the spec that generates their WGSL (kernels/webgpu/wgsl.ts
// specKey: the stable JSON of { shader, params, uniforms layout }) and the binding kinds.
// Creating a pipeline costs 100-300 ms on SwiftShader: each spec is compiled once per device.
import { DeviceError } from '../../../graph/errors.js';
import type { Program, ShaderSpec } from '../../../kernels/webgpu/types.js';
import { specOf, stableJson } from '../../../kernels/webgpu/wgsl.js';

/** GPUShaderStage.COMPUTE (not a global in Node). */
const SHADER_STAGE_COMPUTE = 0x4;

export type BindingKind = 'read' | 'write';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export interface PipelineKeyed {
  readonly key: string;
  readonly spec: ShaderSpec<unknown>;
  readonly kinds: readonly BindingKind[];
}

export function keyOf(program: Program, kinds: readonly BindingKind[]): PipelineKeyed {
  const spec = specOf(program.shader, program.params, program.uniforms);
  return { key: stableJson({ spec, kinds }), spec, kinds };
}

export class PipelineCache {
  private readonly ready = new Map<string, CachedPipeline>();
  private readonly building = new Map<string, Promise<CachedPipeline>>();
  /** WGSL by key (for tests and debugging). */
  readonly sources = new Map<string, string>();
  compileMs = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.ready.size;
  }

  /** The pipeline now if cached (no await on the hot path), else a promise. */
  get(program: Program, kinds: readonly BindingKind[]): CachedPipeline | Promise<CachedPipeline> {
    const k = keyOf(program, kinds);
    const hit = this.ready.get(k.key);
    if (hit) return hit;
    let p = this.building.get(k.key);
    if (!p) {
      p = this.build(k, program.shader.emit as (spec: ShaderSpec<unknown>) => string);
      this.building.set(k.key, p);
    }
    return p;
  }

  private async build(k: PipelineKeyed, emit: (spec: ShaderSpec<unknown>) => string): Promise<CachedPipeline> {
    const t0 = performance.now();
    const code = emit(k.spec);
    this.sources.set(k.key, code);
    const label = `${k.spec.shader}`;
    const layout = this.device.createBindGroupLayout({
      label,
      entries: [
        { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } },
        ...k.kinds.map((kind, i) => ({ binding: i + 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: kind === 'read' ? 'read-only-storage' as const : 'storage' as const } })),
      ],
    });
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label });
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      await this.device.popErrorScope();
      const info = await module.getCompilationInfo?.().catch(() => undefined);
      const msgs = info?.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') ?? '';
      this.building.delete(k.key);
      throw new DeviceError(`WGSL of shader '${k.spec.shader}' did not compile: ${msgs || (e as Error).message}\n${numbered(code)}`, { cause: e });
    }
    const err = await this.device.popErrorScope();
    if (err) {
      this.building.delete(k.key);
      throw new DeviceError(`WGSL of shader '${k.spec.shader}' did not compile: ${err.message}\n${numbered(code)}`);
    }
    const c: CachedPipeline = { pipeline, layout };
    this.ready.set(k.key, c);
    this.building.delete(k.key);
    this.compileMs += performance.now() - t0;
    return c;
  }
}

function numbered(code: string): string {
  return code.split('\n').map((l, i) => `${String(i + 1).padStart(4)} ${l}`).join('\n');
}
