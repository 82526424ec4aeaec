// Draws a graph with dagre's layered layout as SVG: ops as boxes, graph inputs/outputs as pills,
// initializers folded into their consumers. Wheel zooms, drag pans.
import dagre from '@dagrejs/dagre';
import type { Graph } from '../../src/index.js';

const SVG = 'http://www.w3.org/2000/svg';
export const MAX_DRAWN_NODES = 2000;

const FAMILY_COLORS: [RegExp, string][] = [
  [/^(Conv|ConvTranspose|MatMul|Gemm|QLinear|MatMulInteger|ConvInteger)/, '#f4b183'],
  [/^(Relu|LeakyRelu|Sigmoid|HardSigmoid|HardSwish|Tanh|Gelu|Softmax|LogSoftmax|Clip|Elu|Selu|PRelu|Softplus|Mish)/, '#a9d18e'],
  [/^(BatchNormalization|LayerNormalization|InstanceNormalization|GroupNormalization)/, '#9dc3e6'],
  [/^(MaxPool|AveragePool|GlobalAveragePool|GlobalMaxPool|LpPool)/, '#c9b3e6'],
  [/^(Reshape|Flatten|Squeeze|Unsqueeze|Transpose|Concat|Split|Slice|Gather|Shape|Expand|Tile|Pad|Identity)/, '#e7e6e6'],
  [/^(Add|Sub|Mul|Div|Pow|Sqrt|Exp|Log|Neg|Abs|Reciprocal|Max|Min|Sum|Mean)/, '#ffe699'],
];

export function opColor(op: string): string {
  for (const [re, c] of FAMILY_COLORS) if (re.test(op)) return c;
  return '#f8cbad';
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

export interface DrawOptions {
  /** Node names to highlight (e.g. what the selected pass added). */
  highlight?: ReadonlySet<string>;
  onSelect?: (nodeName: string) => void;
}

export interface DrawResult {
  drawn: number;
  total: number;
}

export function drawGraph(host: HTMLElement, g: Graph, opts: DrawOptions = {}): DrawResult {
  host.textContent = '';
  const total = g.nodes.length;
  const nodes = g.nodes.slice(0, MAX_DRAWN_NODES);
  const lg = new dagre.graphlib.Graph({ multigraph: false });
  lg.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 26, marginx: 10, marginy: 10 });
  lg.setDefaultEdgeLabel(() => ({}));
  const producer = new Map<string, string>();
  const feeds = g.inputs.filter((i) => !g.initializers.has(i.name));
  for (const i of feeds) {
    lg.setNode(`in:${i.name}`, { width: Math.max(60, i.name.length * 7 + 16), height: 24, label: i.name, kind: 'io' });
    producer.set(i.name, `in:${i.name}`);
  }
  for (const n of nodes) {
    const w = Math.max(64, n.opType.length * 7.5 + 18);
    lg.setNode(`n:${n.name}`, { width: w, height: 28, label: n.opType, kind: 'op' });
    for (const o of n.outputs) if (o) producer.set(o, `n:${n.name}`);
  }
  for (const o of g.outputs) lg.setNode(`out:${o.name}`, { width: Math.max(60, o.name.length * 7 + 16), height: 24, label: o.name, kind: 'io' });
  for (const n of nodes) {
    for (const i of n.inputs) {
      const p = i && producer.get(i);
      if (p) lg.setEdge(p, `n:${n.name}`);
    }
  }
  for (const o of g.outputs) {
    const p = producer.get(o.name);
    if (p) lg.setEdge(p, `out:${o.name}`);
  }
  dagre.layout(lg);
  const { width = 100, height = 100 } = lg.graph() as { width?: number; height?: number };
  const svg = el('svg', { class: 'graph-svg', viewBox: `0 0 ${width} ${height}`, 'data-nodes': nodes.length });
  const defs = el('defs', {}, svg);
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#888' }, marker);
  const edges = el('g', { class: 'edges' }, svg);
  for (const e of lg.edges()) {
    const pts = (lg.edge(e) as { points: { x: number; y: number }[] }).points;
    el('polyline', { points: pts.map((p) => `${p.x},${p.y}`).join(' '), fill: 'none', stroke: '#999', 'stroke-width': 1, 'marker-end': 'url(#arrow)' }, edges);
  }
  const layer = el('g', { class: 'nodes' }, svg);
  const byName = new Map(nodes.map((n) => [`n:${n.name}`, n]));
  for (const id of lg.nodes()) {
    const d = lg.node(id) as unknown as { x: number; y: number; width: number; height: number; label: string; kind: string };
    const grp = el('g', { class: `gnode ${d.kind}`, transform: `translate(${d.x - d.width / 2},${d.y - d.height / 2})` }, layer);
    const node = byName.get(id);
    const hl = node && opts.highlight?.has(node.name);
    el('rect', {
      width: d.width,
      height: d.height,
      rx: d.kind === 'io' ? 12 : 4,
      fill: d.kind === 'io' ? '#ffffff' : opColor(d.label),
      stroke: hl ? '#d00' : '#555',
      'stroke-width': hl ? 2.5 : 1,
    }, grp);
    const text = el('text', { x: d.width / 2, y: d.height / 2 + 4, 'text-anchor': 'middle', 'font-size': 12 }, grp);
    text.textContent = d.label;
    const title = el('title', {}, grp);
    if (node) {
      const consts = node.inputs.filter((i) => g.initializers.has(i));
      title.textContent = `${node.name} (${node.opType})\ninputs: ${node.inputs.join(', ')}\noutputs: ${node.outputs.join(', ')}${consts.length ? `\nweights: ${consts.map((c) => `${c} [${g.initializers.get(c)!.dims.join('x')}]`).join(', ')}` : ''}\nattributes: ${Object.keys(node.attributes).join(', ') || '-'}`;
      grp.addEventListener('click', () => opts.onSelect?.(node.name));
    } else {
      title.textContent = id;
    }
  }
  host.appendChild(svg);
  // Start the readable view at the first graph input (or the first node).
  const first = lg.nodes().find((id) => id.startsWith('in:')) ?? lg.nodes()[0];
  const anchor = first ? (lg.node(first) as unknown as { x: number; y: number }) : undefined;
  enablePanZoom(svg, width, height, anchor);
  return { drawn: nodes.length, total };
}

/**
 * Starts readable: the whole graph when it fits at a scale of at least 0.6, else the top of it at
 * scale 1. Wheel scrolls, ctrl/cmd+wheel zooms, drag pans, double-click toggles fit-all.
 */
function enablePanZoom(svg: SVGSVGElement, w: number, h: number, anchor?: { x: number; y: number }): void {
  const cw = svg.parentElement?.clientWidth || 800;
  const ch = svg.parentElement?.clientHeight || 560;
  const fitScale = Math.min(cw / w, ch / h);
  const fit = { x: 0, y: 0, w, h };
  const readable = anchor ? { x: anchor.x - cw / 2, y: Math.max(0, anchor.y - 40), w: cw, h: ch } : { x: (w - cw) / 2, y: 0, w: cw, h: ch };
  let vb = fitScale >= 0.6 ? fit : readable;
  const apply = (): void => svg.setAttribute('viewBox', `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
  apply();
  svg.addEventListener('dblclick', () => {
    vb = vb.w === fit.w && vb.h === fit.h ? { ...readable } : { ...fit };
    apply();
  });
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    if (!ev.ctrlKey && !ev.metaKey) {
      const r = svg.getBoundingClientRect();
      vb = { ...vb, x: vb.x + (ev.deltaX * vb.w) / r.width, y: vb.y + (ev.deltaY * vb.h) / r.height };
      apply();
      return;
    }
    const r = svg.getBoundingClientRect();
    const fx = (ev.clientX - r.left) / r.width;
    const fy = (ev.clientY - r.top) / r.height;
    const k = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
    const nw = vb.w * k;
    const nh = vb.h * k;
    vb = { x: vb.x + (vb.w - nw) * fx, y: vb.y + (vb.h - nh) * fy, w: nw, h: nh };
    apply();
  }, { passive: false });
  let drag: { x: number; y: number } | undefined;
  svg.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.clientX, y: ev.clientY };
  });
  window.addEventListener('pointerup', () => (drag = undefined));
  svg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    vb.x -= ((ev.clientX - drag.x) * vb.w) / r.width;
    vb.y -= ((ev.clientY - drag.y) * vb.h) / r.height;
    drag = { x: ev.clientX, y: ev.clientY };
    apply();
  });
}
