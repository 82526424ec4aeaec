// The playground page: open a model, inspect it, step through the optimizer, run it in a worker.
import './style.css';
import { importModel, type Model } from '../../src/index.js';
import { cloneModel, optimize, type OptimizeReport } from '../../graph/passes/index.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { drawGraph, opColor } from './graph-view.js';
import type { BackendChoice, FeedSpec, Level, RunRequest, RunResult, WorkerMessage } from './protocol.js';
import { mountTracer } from './tracer-corner.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
};

const SAMPLES: { name: string; file: string; note: string; dims: Record<string, number[]> }[] = [
  { name: 'PaddleOCR text direction classifier (ppocr-mobile-v2-cls)', file: 'samples/ppocr-mobile-v2-cls.onnx', note: 'x [N,3,48,192] float32 → softmax [N,2]', dims: { x: [1, 3, 48, 192] } },
];

/** Dims for generated inputs: `?input=x=1,3,48,192` (repeatable), a sample's dims, else symbolic dims become 1 (224 for H, W of images). */
function defaultDims(name: string, shape: readonly (number | string)[] | undefined, modelName: string): number[] {
  for (const spec of new URLSearchParams(location.search).getAll('input')) {
    const eq = spec.lastIndexOf('=');
    if (spec.slice(0, eq) === name) return spec.slice(eq + 1).split(/[,x]/).filter(Boolean).map(Number);
  }
  const sample = SAMPLES.find((s) => s.file.endsWith(modelName));
  if (sample?.dims[name]) return sample.dims[name]!;
  return (shape ?? []).map((d, i) => (typeof d === 'number' ? d : shape!.length === 4 && i >= 2 ? 224 : 1));
}

interface Stage {
  label: string;
  model: Model;
  pass?: OptimizeReport['passes'][number];
  added: Set<string>;
  removed: number;
}

const state: {
  bytes?: Uint8Array;
  name?: string;
  model?: Model;
  stages: Stage[];
  stage: number;
  image?: FeedSpec;
  runId: number;
  modelId: number;
} = { stages: [], stage: 0, runId: 0, modelId: 0 };

// ---------- errors ----------

function errorInfo(e: unknown): { name: string; code?: string; message: string } {
  if (e && typeof e === 'object' && 'message' in e) {
    const err = e as { name?: string; code?: string; message: string };
    return { name: err.name ?? 'Error', code: err.code, message: err.message };
  }
  return { name: 'Error', message: String(e) };
}

function showError(e: unknown, when: string): void {
  const info = errorInfo(e);
  const box = $('error');
  box.hidden = false;
  box.textContent = `${when}: ${info.name}${info.code ? ` [${info.code}]` : ''}: ${info.message}`;
  writeResult({ ok: false, error: { ...info, when } }, 'error');
}

function clearError(): void {
  $('error').hidden = true;
  $('error').textContent = '';
}

function writeResult(obj: unknown, st: 'done' | 'error'): void {
  const r = $('result');
  r.textContent = JSON.stringify(obj, null, 2);
  r.dataset.state = st;
}

window.addEventListener('error', (ev) => showError(ev.error ?? ev.message, 'unexpected error'));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason, 'unexpected error'));

// ---------- helpers ----------

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(2)} MiB`;
}

function fmtMs(n: number): string {
  return n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(2)} ms`;
}

function fmtType(t: Model['graph']['inputs'][number]['type']): string {
  if (!t) return '?';
  if (t.kind === 'tensor') return `${t.dtype}${t.shape ? ` [${t.shape.join(', ')}]` : ' [?]'}`;
  return t.kind;
}

function table(el: HTMLElement, head: string[], rows: (string | number)[][], numeric: number[] = []): void {
  el.textContent = '';
  const tr = document.createElement('tr');
  for (const h of head) {
    const th = document.createElement('th');
    th.textContent = h;
    tr.appendChild(th);
  }
  el.appendChild(tr);
  for (const r of rows) {
    const row = document.createElement('tr');
    r.forEach((c, i) => {
      const td = document.createElement('td');
      td.textContent = String(c);
      if (numeric.includes(i)) td.className = 'num';
      row.appendChild(td);
    });
    el.appendChild(row);
  }
}

// ---------- WebGPU availability ----------

const gpuCheck: Promise<{ ok: boolean; text: string }> = (async () => {
  const nav = navigator as Navigator & { gpu?: GPU };
  if (!nav.gpu) return { ok: false, text: window.isSecureContext ? 'this browser has no WebGPU (navigator.gpu is missing)' : 'WebGPU needs a secure context (https or localhost)' };
  try {
    const a = await nav.gpu.requestAdapter();
    if (!a) return { ok: false, text: 'navigator.gpu.requestAdapter() found no adapter (WebGPU disabled or blocklisted)' };
    const i = a.info;
    return { ok: true, text: `${i.vendor || '?'} ${i.architecture || ''} ${i.description || ''}`.replace(/\s+/g, ' ').trim() };
  } catch (e) {
    return { ok: false, text: `requestAdapter() failed: ${(e as Error).message}` };
  }
})();

async function showGpuStatus(): Promise<void> {
  const g = await gpuCheck;
  $('gpu-status').textContent = g.ok ? `WebGPU: ${g.text}` : `WebGPU unavailable: ${g.text}; running on CPU workers`;
  if (!g.ok && !new URLSearchParams(location.search).get('backend')) $<HTMLSelectElement>('backend').value = 'cpu';
}

// ---------- model loading ----------

async function openBytes(bytes: Uint8Array, name: string): Promise<boolean> {
  clearError();
  state.bytes = undefined;
  state.model = undefined;
  state.image = undefined;
  $<HTMLButtonElement>('run').disabled = true;
  $('results').hidden = true;
  $('model-name').textContent = name;
  let model: Model;
  try {
    model = importModel(bytes, { source: name });
  } catch (e) {
    $('info').hidden = true;
    $('graph-panel').hidden = true;
    showError(e, `opening ${name}`);
    return false;
  }
  state.bytes = bytes;
  state.name = name;
  state.model = model;
  state.modelId++;
  renderInfo(model);
  $<HTMLButtonElement>('run').disabled = false;
  try {
    buildStages();
  } catch (e) {
    showError(e, 'optimizing');
  }
  return true;
}

async function openUrl(url: string): Promise<boolean> {
  $('run-status').textContent = `fetching ${url}…`;
  try {
    const res = await fetch(url);
    if (!res.ok) throw Object.assign(new Error(`could not fetch ${url}: HTTP ${res.status}`), { name: 'ModelLoadError' });
    const buf = new Uint8Array(await res.arrayBuffer());
    $('run-status').textContent = '';
    return await openBytes(buf, url.split('/').pop() || url);
  } catch (e) {
    $('run-status').textContent = '';
    showError(e, `opening ${url}`);
    return false;
  }
}

function renderInfo(model: Model): void {
  $('info').hidden = false;
  const g = model.graph;
  const feeds = g.inputs.filter((i) => !g.initializers.has(i.name));
  const inputs = $('inputs');
  inputs.textContent = '';
  table(inputs, ['name', 'type', 'dims to generate'], []);
  for (const i of feeds) {
    const tr = document.createElement('tr');
    const dims = i.type?.kind === 'tensor' ? defaultDims(i.name, i.type.shape, state.name ?? '') : [];
    tr.innerHTML = '<td></td><td></td><td><input size="14" /></td>';
    tr.children[0]!.textContent = i.name;
    tr.children[1]!.textContent = fmtType(i.type);
    const inp = tr.querySelector('input')!;
    inp.value = dims.join(',');
    inp.dataset.input = i.name;
    inputs.appendChild(tr);
  }
  table($('outputs-meta'), ['name', 'type'], g.outputs.map((o) => [o.name, fmtType(o.type)]));
  $('opsets').textContent = Object.entries(model.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ');
  $('producer').textContent = `IR ${model.irVersion}${model.producerName ? `, ${model.producerName} ${model.producerVersion ?? ''}` : ''}; ${g.nodes.length} nodes, ${g.initializers.size} initializers`;
  const hist = new Map<string, number>();
  for (const n of g.nodes) hist.set(n.opType, (hist.get(n.opType) ?? 0) + 1);
  const rows = [...hist].sort((a, b) => b[1] - a[1]);
  const max = rows[0]?.[1] ?? 1;
  const h = $('histogram');
  h.textContent = '';
  for (const [op, c] of rows) {
    const r = document.createElement('div');
    r.className = 'hist-row';
    r.innerHTML = '<span class="name"></span><span class="bar"></span><span class="count"></span>';
    r.children[0]!.textContent = op;
    (r.children[1] as HTMLElement).style.width = `${Math.max(2, (c / max) * 160)}px`;
    (r.children[1] as HTMLElement).style.background = opColor(op);
    r.children[2]!.textContent = String(c);
    h.appendChild(r);
  }
  // Image input for vision models: a float tensor [N, 1|3, H, W].
  const vis = feeds.find((i) => i.type?.kind === 'tensor' && i.type.dtype === 'float32' && i.type.shape?.length === 4 && (i.type.shape[1] === 3 || i.type.shape[1] === 1));
  $('image-input').hidden = !vis;
  $('image-input').dataset.input = vis?.name ?? '';
}

// ---------- optimizer stages ----------

function buildStages(): void {
  const model = state.model!;
  const level = $<HTMLSelectElement>('level').value as Level;
  const stages: Stage[] = [{ label: 'original', model, added: new Set(), removed: 0 }];
  if (level !== 'disabled') {
    const snaps: Model[] = [];
    const { report } = optimize(model, evaluateConstantNode, {
      level,
      check: (_before, after) => {
        snaps.push(cloneModel(after));
        return undefined;
      },
    });
    let k = 0;
    for (const p of report.passes) {
      const changed = Object.values(p.rewrites).some((v) => v > 0);
      const prev = stages[stages.length - 1]!.model;
      const m = changed ? snaps[k++]! : prev;
      const before = new Set(prev.graph.nodes.map((n) => n.name));
      const after = new Set(m.graph.nodes.map((n) => n.name));
      stages.push({
        label: p.name,
        model: m,
        pass: p,
        added: new Set([...after].filter((n) => !before.has(n))),
        removed: [...before].filter((n) => !after.has(n)).length,
      });
    }
  }
  state.stages = stages;
  const rows = $('passes');
  table(rows, ['#', 'pass', 'nodes', 'values', 'rewrites', 'ms'], []);
  stages.forEach((s, i) => {
    const tr = document.createElement('tr');
    const p = s.pass;
    const cells = p
      ? [i, p.name, `${p.nodesBefore} → ${p.nodesAfter}`, `${p.valuesBefore} → ${p.valuesAfter}`, Object.entries(p.rewrites).map(([k, v]) => `${k} ${v}`).join(', ') || '—', p.ms.toFixed(2)]
      : [0, 'original', String(s.model.graph.nodes.length), '', '', ''];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = String(c);
      tr.appendChild(td);
    }
    tr.addEventListener('click', () => showStage(i));
    rows.appendChild(tr);
  });
  const slider = $<HTMLInputElement>('stage');
  slider.max = String(stages.length - 1);
  $('graph-panel').hidden = false;
  showStage(stages.length - 1);
}

function showStage(i: number): void {
  const stages = state.stages;
  i = Math.max(0, Math.min(stages.length - 1, i));
  state.stage = i;
  const s = stages[i]!;
  $<HTMLInputElement>('stage').value = String(i);
  const changes = s.pass ? ` — ${s.added.size} nodes added (red), ${s.removed} removed` : '';
  const drawn = drawGraph($('graph'), s.model.graph, {
    highlight: s.added,
    onSelect: (name) => {
      const n = s.model.graph.nodes.find((x) => x.name === name);
      if (!n) return;
      $('node-detail').textContent = `${n.name} (${n.opType}${n.domain ? ` @${n.domain}` : ''}) inputs: ${n.inputs.join(', ')} → outputs: ${n.outputs.join(', ')}`;
    },
  });
  $('stage-label').textContent = `stage ${i}/${stages.length - 1}: ${i === 0 ? 'before optimization' : `after ${s.label}`}${changes}; ${s.model.graph.nodes.length} nodes${drawn.drawn < drawn.total ? ` (first ${drawn.drawn} drawn)` : ''}`;
  $('graph').dataset.stage = String(i);
  [...$('passes').querySelectorAll('tr')].forEach((tr, k) => tr.classList.toggle('current', k - 1 === i));
}

// ---------- image input ----------

async function loadImage(file: File): Promise<void> {
  const name = $('image-input').dataset.input!;
  const t = state.model!.graph.inputs.find((i) => i.name === name)!.type;
  if (t?.kind !== 'tensor' || !t.shape) return;
  const field = $('inputs').querySelector<HTMLInputElement>(`input[data-input="${CSS.escape(name)}"]`);
  const fd = field?.value.split(/[,x\s]+/).filter(Boolean).map(Number) ?? [];
  const c = Number(t.shape[1]);
  const h = typeof t.shape[2] === 'number' ? t.shape[2] : fd[2] || 224;
  const w = typeof t.shape[3] === 'number' ? t.shape[3] : fd[3] || 224;
  const bmp = await createImageBitmap(file);
  const canvas = $<HTMLCanvasElement>('image-preview');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bmp, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const norm = $<HTMLSelectElement>('norm').value;
  const mean = norm === 'imagenet' ? [0.485, 0.456, 0.406] : norm === 'half' ? [0.5, 0.5, 0.5] : [0, 0, 0];
  const std = norm === 'imagenet' ? [0.229, 0.224, 0.225] : norm === 'half' ? [0.5, 0.5, 0.5] : [1, 1, 1];
  const data = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) {
      const v = c === 1 ? (px[i * 4]! + px[i * 4 + 1]! + px[i * 4 + 2]!) / (3 * 255) : px[i * 4 + ch]! / 255;
      data[ch * h * w + i] = (v - mean[ch]!) / std[ch]!;
    }
  }
  state.image = { name, type: 'float32', dims: [1, c, h, w], data };
  $('run-status').textContent = `image ${file.name} → ${name} [1,${c},${h},${w}]`;
}

// ---------- running ----------

let worker: Worker | undefined;
const pendingRuns = new Map<number, (m: WorkerMessage) => void>();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tgraph-runner' });
    worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      pendingRuns.get(ev.data.id)?.(ev.data);
      pendingRuns.delete(ev.data.id);
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      const err = { name: 'WorkerError', message: `the runner worker failed: ${ev.message || 'could not start (see the network panel)'}` };
      for (const [id, resolve] of pendingRuns) resolve({ type: 'error', id, error: err });
      pendingRuns.clear();
      worker?.terminate();
      worker = undefined;
    };
  }
  return worker;
}

async function run(): Promise<void> {
  if (!state.bytes || !state.model) return;
  clearError();
  const backend = $<HTMLSelectElement>('backend').value as BackendChoice;
  const level = $<HTMLSelectElement>('level').value as Level;
  const seed = Number($<HTMLInputElement>('seed').value) || 0;
  const runs = Math.max(0, Math.min(100, Number($<HTMLInputElement>('runs').value) || 0));
  const dims: Record<string, number[]> = {};
  for (const inp of $('inputs').querySelectorAll<HTMLInputElement>('input[data-input]')) {
    const v = inp.value.split(/[,x\s]+/).filter(Boolean).map(Number);
    if (v.some((d) => !Number.isInteger(d) || d < 0)) {
      showError({ name: 'InputError', message: `dims for '${inp.dataset.input}' must be non-negative integers, got '${inp.value}'` }, 'running');
      return;
    }
    dims[inp.dataset.input!] = v;
  }
  const id = ++state.runId;
  const req: RunRequest = {
    type: 'run',
    id,
    bytes: state.bytes.slice().buffer,
    key: `${state.modelId}/${backend}/${level}`,
    backend,
    level,
    feeds: state.image ? [state.image] : [],
    dims,
    seed,
    runs,
  };
  $<HTMLButtonElement>('run').disabled = true;
  $('run-status').textContent = `running on ${backend}…`;
  const r = $('result');
  r.dataset.state = 'running';
  const msg = await new Promise<WorkerMessage>((resolve) => {
    pendingRuns.set(id, resolve);
    getWorker().postMessage(req, [req.bytes]);
  });
  $<HTMLButtonElement>('run').disabled = false;
  $('run-status').textContent = '';
  if (msg.type === 'error') {
    showError(msg.error, 'running');
    return;
  }
  renderResult(msg, level);
}

function renderResult(res: RunResult, level: Level): void {
  $('results').hidden = false;
  const gpu = res.adapter ? `${res.adapter.vendor} ${res.adapter.architecture} ${res.adapter.description}`.replace(/\s+/g, ' ').trim() : null;
  $('run-summary').textContent = `Ran on ${res.backend === 'cpu' ? (res.workers ? `CPU (pool of ${res.workers} workers)` : 'CPU (worker)') : `WebGPU (${gpu ?? 'adapter'})`}, level ${level}.${res.backendNotes.length ? ` Passed over: ${res.backendNotes.join('; ')}` : ''} Inputs: ${res.inputs.map((i) => `${i.name} ${i.type}[${i.shape.join(',')}] ${i.generated ? 'generated' : 'from image'}`).join(', ')}`;
  table($('outputs'), ['name', 'type', 'shape', 'first values', 'min', 'max', 'mean'], res.outputs.map((o) => [o.name, o.type, `[${o.shape.join(', ')}]`, o.values.slice(0, 8).map((v) => (typeof v === 'number' ? Number(v.toPrecision(5)) : v)).join(', ') + (o.total > 8 ? ', …' : ''), Number(o.min.toPrecision(5)), Number(o.max.toPrecision(5)), Number(o.mean.toPrecision(5))]));
  table($('latency'), ['', 'time'], [
    ['session create', fmtMs(res.latency.createMs)],
    ['first run', fmtMs(res.latency.firstMs)],
    [`steady (median of ${res.latency.runs})`, fmtMs(res.latency.steadyMs)],
    ['steady (best)', fmtMs(res.latency.steadyMinMs)],
  ], [1]);
  const heap = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
  const mem: [string, string][] = [
    ['weights', fmtBytes(res.memory.weightsBytes)],
    ['inputs', fmtBytes(res.memory.inputBytes)],
    ['outputs', fmtBytes(res.memory.outputBytes)],
  ];
  if (res.memory.gpu) {
    mem.push(['GPU buffers allocated', fmtBytes(res.memory.gpu.allocated)], ['GPU buffers live', fmtBytes(res.memory.gpu.live)], ['GPU buffers pooled', fmtBytes(res.memory.gpu.pooled)], ['GPU buffers created / reused', `${res.memory.gpu.created} / ${res.memory.gpu.reused}`]);
  }
  if (heap) mem.push(['page JS heap', fmtBytes(heap)]);
  table($('memory'), ['', 'bytes'], mem, [1]);
  renderTimeline(res);
  writeResult({
    ok: true,
    model: state.name,
    backend: res.backend,
    workers: res.workers,
    adapter: gpu,
    backendNotes: res.backendNotes,
    level,
    inputs: res.inputs,
    outputs: res.outputs.map((o) => ({ name: o.name, type: o.type, shape: o.shape, first: o.values.slice(0, 16) })),
    latency: { firstMs: round(res.latency.firstMs), steadyMs: round(res.latency.steadyMs), runs: res.latency.runs, createMs: round(res.latency.createMs) },
    memory: res.memory,
  }, 'done');
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function renderTimeline(res: RunResult): void {
  const p = res.profile;
  const end = p.reduce((a, e) => Math.max(a, e.start + e.ms), 0) || 1;
  const total = p.reduce((a, e) => a + e.ms, 0);
  $('timeline-note').textContent = `${p.length} nodes, ${fmtMs(total)} in kernels over ${fmtMs(end)}${res.backend === 'webgpu' ? ' (WebGPU: time to encode each node; GPU work is asynchronous)' : ''}`;
  const tl = $('timeline');
  tl.textContent = '';
  for (const e of p.slice(0, 600)) {
    const row = document.createElement('div');
    row.className = 'tl-row';
    const bar = document.createElement('div');
    bar.className = 'tl-bar';
    bar.style.left = `${(e.start / end) * 100}%`;
    bar.style.width = `${(e.ms / end) * 100}%`;
    bar.style.background = opColor(e.opType);
    bar.title = `${e.name} (${e.opType}) ${e.ms.toFixed(3)} ms`;
    const label = document.createElement('span');
    label.className = 'tl-label';
    label.textContent = `${e.opType} ${e.ms.toFixed(2)} ms`;
    row.append(bar, label);
    tl.appendChild(row);
  }
  const byOp = new Map<string, { n: number; ms: number }>();
  for (const e of p) {
    const a = byOp.get(e.opType) ?? { n: 0, ms: 0 };
    a.n++;
    a.ms += e.ms;
    byOp.set(e.opType, a);
  }
  table($('op-times'), ['op', 'count', 'ms', '%'], [...byOp].sort((a, b) => b[1].ms - a[1].ms).map(([op, a]) => [op, a.n, a.ms.toFixed(2), ((a.ms / (total || 1)) * 100).toFixed(1)]), [1, 2, 3]);
}

// ---------- wiring ----------

function wire(): void {
  const sel = $<HTMLSelectElement>('sample');
  for (const s of SAMPLES) {
    const o = document.createElement('option');
    o.value = s.file;
    o.textContent = s.name;
    o.title = s.note;
    sel.appendChild(o);
  }
  $('load-sample').addEventListener('click', () => void openUrl(sel.value));
  $<HTMLInputElement>('file').addEventListener('change', async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) await openBytes(new Uint8Array(await f.arrayBuffer()), f.name);
  });
  document.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    document.body.classList.add('drop-active');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('drop-active'));
  document.addEventListener('drop', async (ev) => {
    ev.preventDefault();
    document.body.classList.remove('drop-active');
    const f = ev.dataTransfer?.files?.[0];
    if (f) await openBytes(new Uint8Array(await f.arrayBuffer()), f.name);
  });
  $('run').addEventListener('click', () => void run());
  $('level').addEventListener('change', () => {
    if (!state.model) return;
    try {
      buildStages();
    } catch (e) {
      showError(e, 'optimizing');
    }
  });
  $('stage').addEventListener('input', (ev) => showStage(Number((ev.target as HTMLInputElement).value)));
  $('stage-prev').addEventListener('click', () => showStage(state.stage - 1));
  $('stage-next').addEventListener('click', () => showStage(state.stage + 1));
  $<HTMLInputElement>('image').addEventListener('change', async (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    try {
      await loadImage(f);
    } catch (e) {
      showError(e, 'reading the image');
    }
  });
  $('norm').addEventListener('change', () => {
    const f = $<HTMLInputElement>('image').files?.[0];
    if (f) void loadImage(f);
  });
  $('image-clear').addEventListener('click', () => {
    state.image = undefined;
    $<HTMLInputElement>('image').value = '';
    $('run-status').textContent = 'using generated inputs';
  });
}

async function start(): Promise<void> {
  wire();
  mountTracer($('tracer-body'));
  const q = new URLSearchParams(location.search);
  const backend = q.get('backend');
  if (backend === 'webgpu' || backend === 'cpu' || backend === 'cpu-parallel') $<HTMLSelectElement>('backend').value = backend;
  else if (backend) showError({ name: 'InputError', message: `backend must be webgpu, cpu or cpu-parallel, got '${backend}'` }, 'query');
  const level = q.get('level');
  if (level && ['disabled', 'basic', 'extended', 'all'].includes(level)) $<HTMLSelectElement>('level').value = level;
  else if (level) showError({ name: 'InputError', message: `level must be disabled, basic, extended or all, got '${level}'` }, 'query');
  if (q.get('seed')) $<HTMLInputElement>('seed').value = q.get('seed')!;
  if (q.get('runs')) $<HTMLInputElement>('runs').value = q.get('runs')!;
  await showGpuStatus();
  const url = q.get('model') ?? (q.get('sample') ? SAMPLES.find((s) => s.file.includes(q.get('sample')!))?.file : undefined);
  if (url) {
    const ok = await openUrl(url);
    if (ok && q.get('autorun') === '1') await run();
  }
}

void start();
