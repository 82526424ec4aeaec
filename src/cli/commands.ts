// The tgraph commands: run, inspect, optimize, conformance.
import fs from 'node:fs';

import { TgraphError } from '../../graph/errors.js';
import { formatType, type Node, type ValueType } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { formatReport, lower, optimize } from '../../graph/passes/index.js';
import { cpuCapabilities } from '../../kernels/cpu/fused.js';
import { WEBGPU_CAPABILITIES } from '../../kernels/webgpu/fused.js';
import { analyzeModel, formatAnalysis, type Device } from '../../graph/analysis/index.js';
import { opKey } from '../../graph/ops/index.js';
import { findGpuKernel } from '../../kernels/webgpu/index.js';
import { storageType } from '../../kernels/webgpu/wgsl.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { checkOutputs } from '../verify-pass.js';
import { allNodes, findUnsupported } from '../../graph/support.js';
import { findCpuKernel } from '../../kernels/cpu/index.js';
import { type CaseResult, listCases, runCase, summarize } from '../conformance.js';
import { loadModel } from '../model-loader.js';
import { describeGpu } from '../backends/webgpu/device.js';
import { InferenceSession, type GraphOptimizationLevel } from '../session.js';
import { formatSummary, summarizeTrace } from '../executor/profiler.js';
import type { Tensor } from '../tensor.js';
import { type ParsedArgs, UsageError, flag } from './args.js';
import { generateInput, parseInputSpec, statsOf } from './inputs.js';

type Out = (line: string) => void;

function modelArg(args: ParsedArgs): string {
  const m = args.positionals[0];
  if (!m) throw new UsageError('missing MODEL');
  return m;
}

function level(args: ParsedArgs): GraphOptimizationLevel {
  const l = flag(args, 'level') ?? 'all';
  if (!['disabled', 'basic', 'extended', 'all'].includes(l)) throw new UsageError(`--level must be disabled, basic, extended or all; got '${l}'`);
  return l as GraphOptimizationLevel;
}

export async function runCommand(args: ParsedArgs, out: Out): Promise<void> {
  const file = modelArg(args);
  const backend = flag(args, 'backend') ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu') throw new UsageError(`--backend must be cpu or webgpu; got '${backend}'`);
  const json = args.flags.has('json');
  // --profile, --profile=FILE or --profile FILE (the flag is boolean, so FILE arrives as a positional).
  const profile = args.flags.has('profile');
  const profileValue = flag(args, 'profile');
  const profileFile = profileValue && profileValue !== 'true' ? profileValue : args.positionals[1];
  const t0 = performance.now();
  const session = await InferenceSession.create(file, { executionProviders: [backend], graphOptimizationLevel: level(args), enableProfiling: profile });
  const loadMs = performance.now() - t0;
  const dimsByName = new Map((args.flags.get('input') ?? []).map(parseInputSpec));
  for (const name of dimsByName.keys()) {
    if (!session.inputNames.includes(name)) throw new UsageError(`--input ${name}: the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
  }
  const feeds: Record<string, Tensor> = {};
  session.inputMetadata.forEach((m, i) => {
    feeds[m.name] = generateInput(m, dimsByName.get(m.name), 1234 + i);
  });
  const t1 = performance.now();
  const first = await session.run(feeds);
  const firstMs = performance.now() - t1;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const steadyMs = times[1]!;
  const outputs = Object.entries(first).map(([name, t]) => ({ name, type: t.type, dims: [...t.dims], ...statsOf(t) }));
  const summary = {
    model: file,
    backend: session.backend,
    backendNotes: session.backendNotes,
    ...(backend === 'webgpu' ? { gpu: await describeGpu(), placements: session.placements } : {}),
    inputs: Object.entries(feeds).map(([name, t]) => ({ name, type: t.type, dims: [...t.dims] })),
    outputs,
    timings: { loadMs: round(loadMs), firstRunMs: round(firstMs), steadyRunMs: round(steadyMs) },
  };
  const trace = profile ? await session.endProfiling(profileFile) : undefined;
  const ops = trace ? summarizeTrace(trace).map((r) => ({ ...r, selfMs: round(r.selfMs), totalMs: round(r.totalMs), percent: round(r.percent) })) : undefined;
  if (json) {
    out(JSON.stringify(ops ? { ...summary, profile: { runs: 1 + times.length, ...(profileFile ? { trace: profileFile } : {}), ops } } : summary, null, 2));
    await session.release();
    return;
  }
  out(`model    ${file}`);
  out(`backend  ${session.backend}${session.backendNotes.length ? ` (${session.backendNotes.join('; ')})` : ''}`);
  if (summary.gpu) {
    const g = summary.gpu;
    if (g.available) {
      out(`adapter  ${[g.adapter.vendor, g.adapter.architecture, g.adapter.device || g.adapter.description].filter(Boolean).join(' / ')} via ${g.source}${g.isFallbackAdapter ? ' (fallback adapter)' : ''}`);
      out(`features ${['shader-f16', 'timestamp-query', 'subgroups'].map((f) => `${f} ${g.features.includes(f) ? 'yes' : 'no'}`).join(', ')}; maxStorageBufferBindingSize ${g.limits.maxStorageBufferBindingSize}, maxComputeInvocationsPerWorkgroup ${g.limits.maxComputeInvocationsPerWorkgroup}`);
    } else out(`adapter  none: ${g.reason}`);
    for (const n of g.notes) out(`         ${n}`);
    const placed = session.placements;
    const onCpu = placed.filter((p) => p.device === 'cpu');
    if (placed.length) out(`placement ${placed.length - onCpu.length} of ${placed.length} nodes on the GPU${onCpu.length ? `; on the CPU: ${summarizeReasons(onCpu)}` : ''}`);
  }
  for (const i of summary.inputs) out(`input    ${i.name}: ${i.type}[${i.dims.join(',')}] (generated, deterministic)`);
  for (const o of outputs) {
    out(`output   ${o.name}: ${o.type}[${o.dims.join(',')}]  min ${fmt(o.min)}  max ${fmt(o.max)}  mean ${fmt(o.mean)}  first [${o.first.map((v) => (typeof v === 'number' ? fmt(v) : v)).join(', ')}]`);
  }
  out(`time     load ${round(loadMs)} ms, first run ${round(firstMs)} ms, steady run ${round(steadyMs)} ms (median of 3)`);
  if (trace) {
    out(`profile  ${1 + times.length} runs, node time by op${profileFile ? `; Chrome trace written to ${profileFile}` : ''}`);
    for (const line of formatSummary(summarizeTrace(trace))) out(`  ${line}`);
  }
  await session.release();
}

export async function inspectCommand(args: ParsedArgs, out: Out): Promise<void> {
  const file = modelArg(args);
  const model = await loadModel(file);
  const hist = new Map<string, number>();
  let count = 0;
  for (const { node } of allNodes(model.graph)) {
    const k = node.domain ? `${node.domain}:${node.opType}` : node.opType;
    hist.set(k, (hist.get(k) ?? 0) + 1);
    count++;
  }
  const unsupported = findUnsupported(model, (k) => findCpuKernel(k) !== undefined);
  const g = model.graph;
  const info = {
    model: file,
    irVersion: model.irVersion,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets: model.opsets,
    inputs: g.inputs.filter((i) => !g.initializers.has(i.name)).map((i) => ({ name: i.name, type: formatType(i.type) })),
    outputs: g.outputs.map((o) => ({ name: o.name, type: formatType(o.type) })),
    initializers: g.initializers.size,
    nodes: count,
    ops: Object.fromEntries([...hist].sort((a, b) => b[1] - a[1])),
    unsupported: unsupported.map((u) => ({ op: u.domain ? `${u.domain}:${u.op}` : u.op, reason: u.reason, nodes: u.nodes.length })),
  };
  if (args.flags.has('json')) {
    out(JSON.stringify(info, null, 2));
    return;
  }
  out(`model        ${file}`);
  out(`ir version   ${info.irVersion}${info.producer ? `, produced by ${info.producer}` : ''}`);
  out(`opsets       ${Object.entries(model.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ')}`);
  for (const i of info.inputs) out(`input        ${i.name}: ${i.type}`);
  for (const o of info.outputs) out(`output       ${o.name}: ${o.type}`);
  out(`nodes        ${count} (${info.initializers} initializers)`);
  out('ops          ' + [...hist].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '));
  out(unsupported.length ? `unsupported  ${info.unsupported.map((u) => `${u.op} (${u.reason}, ${u.nodes} node${u.nodes > 1 ? 's' : ''})`).join('; ')}` : 'unsupported  none');
}

export async function optimizeCommand(args: ParsedArgs, out: Out): Promise<void> {
  const file = modelArg(args);
  const dest = flag(args, 'output');
  if (!dest) throw new UsageError('optimize needs -o OUT');
  const list = (name: string) => (args.flags.get(name) ?? []).flatMap((v) => v.split(',')).filter(Boolean);
  const model = await loadModel(file);
  const verify = args.flags.has('verify');
  const { model: optimized, report } = optimize(model, evaluateConstantNode, {
    level: level(args),
    enable: list('passes'),
    disable: list('disable'),
    verify,
    check: verify ? (a, b) => checkOutputs(a, b, new Map((args.flags.get('input') ?? []).map(parseInputSpec))) : undefined,
  });
  const bytes = exportModel(optimized);
  fs.writeFileSync(dest, bytes);
  if (args.flags.has('report') || verify) out(formatReport(report));
  // Lowering makes tgraph's own plan (fused tgraph ops), so it is only reported; OUT stays standard ONNX.
  const lowerFor = flag(args, 'lower');
  if (lowerFor) {
    if (lowerFor !== 'cpu' && lowerFor !== 'webgpu') throw new UsageError(`--lower takes cpu or webgpu, got '${lowerFor}'`);
    const caps = lowerFor === 'cpu' ? cpuCapabilities('sequential') : WEBGPU_CAPABILITIES;
    // The plan is made for the --input shapes where given (channels-last conv regions are chosen by size).
    const shapes = new Map((args.flags.get('input') ?? []).map(parseInputSpec));
    const sized = { ...optimized, graph: { ...optimized.graph, inputs: optimized.graph.inputs.map((i) => {
      const dims = shapes.get(i.name);
      return dims && i.type?.kind === 'tensor' && (!i.type.shape || i.type.shape.length === dims.length) ? { ...i, type: { ...i.type, shape: dims } } : i;
    }) } };
    const lowered = lower(sized, caps, evaluateConstantNode, {
      level: level(args), disable: list('disable'), verify,
      check: verify ? (a, b) => checkOutputs(a, b, new Map((args.flags.get('input') ?? []).map(parseInputSpec))) : undefined,
    });
    out(`lowering for ${lowerFor} (tgraph's plan; not written to ${dest}):\n${formatReport(lowered.report).split('\n').slice(1).join('\n')}`);
  }
  if (args.flags.has('report')) {
    const inputShapes = new Map((args.flags.get('input') ?? []).map(parseInputSpec));
    out(formatAnalysis(analyzeModel(optimized, { inputShapes, evaluate: evaluateConstantNode, placeNode: likelyPlacement })));
  }
  out(`wrote ${dest}: ${report.nodesBefore} -> ${report.nodesAfter} nodes, ${bytes.length} bytes${verify ? ' (verified after every pass)' : ''}`);
}

const GPU_DTYPES = new Set(['float32', 'float16', 'int32', 'uint32', 'bool']);

/**
 * The WebGPU backend's placement, approximated without a device: a WGSL emitter and the dtypes it is
 * given (every storable one for kernels with `allDtypes`: int64, narrow ints, float64 moves).
 */
function likelyPlacement(node: Node, types: ReadonlyMap<string, ValueType>): Device {
  const kernel = findGpuKernel(opKey(node.domain, node.opType));
  if (!kernel) return 'cpu';
  for (const v of [...node.inputs, ...node.outputs]) {
    const t = v ? types.get(v) : undefined;
    if (t && (t.kind !== 'tensor' || !(kernel.allDtypes ? storageType(t.dtype, false, true) : GPU_DTYPES.has(t.dtype)))) return 'cpu';
  }
  return 'gpu';
}

export async function conformanceCommand(args: ParsedArgs, out: Out): Promise<void> {
  if (!args.positionals.length) throw new UsageError('conformance needs one or more test folders');
  const backend = (flag(args, 'backend') ?? 'cpu') as 'cpu' | 'webgpu';
  const results: CaseResult[] = [];
  for (const root of args.positionals) {
    for (const dir of await listCases(root)) {
      const r = await runCase(dir, { backend, timeoutMs: 30_000 });
      results.push(r);
      if (args.flags.has('verbose')) out(`${r.status.padEnd(11)} ${r.suite}/${r.name}${r.reason ? `  ${r.reason}` : ''}`);
    }
  }
  const s = summarize(results);
  const jsonFile = flag(args, 'json');
  if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ backend, summary: s, results }, null, 1));
  const rows = Object.entries(s.byOp).sort((a, b) => a[0].localeCompare(b[0]));
  for (const [op, c] of rows) out(`${op.padEnd(40)} ${String(c.pass).padStart(4)} / ${c.total}`);
  out(`\n${backend}: ${s.pass} of ${s.total} passed (${s.byStatus.fail} failed, ${s.byStatus.error} errors, ${s.byStatus.unsupported} unsupported)`);
  const p = s.passByPlacement;
  if (p.gpu + p.mixed + p.cpu) out(`passing tests by placement: every node on the GPU ${p.gpu}, some nodes on the CPU ${p.mixed}, all on the CPU ${p.cpu}`);
}

function summarizeReasons(nodes: readonly { op: string; reason?: string }[]): string {
  const by = new Map<string, number>();
  for (const n of nodes) by.set(`${n.op} (${n.reason ?? 'no reason given'})`, (by.get(`${n.op} (${n.reason ?? 'no reason given'})`) ?? 0) + 1);
  return [...by].map(([k, v]) => `${v}x ${k}`).join(', ');
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(5)).toString() : String(x);
}

export function describeError(e: unknown): string {
  if (e instanceof TgraphError) return `${e.name}: ${e.message}`;
  if (e instanceof UsageError) return `usage: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}


