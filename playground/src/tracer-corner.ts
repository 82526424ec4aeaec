// The Tracer corner: edit a function written with the tensor API (tg), trace it with tg.fn, see the
// traced graph (before and after the optimizer) and run it on CPU or WebGPU, on the page's thread.
import * as tg from '../../src/index.js';
import { drawGraph } from './graph-view.js';
import { DEFAULT_TRACER_CODE, evaluateTracerCode } from './tracer-sample.js';

function flatten(v: unknown, path: string, out: [string, unknown][]): void {
  if (v instanceof tg.TgTensor) out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  else out.push([path, v]);
}

export function mountTracer(host: HTMLElement): void {
  host.innerHTML = `
    <div class="row">
      <label>Device <select id="tracer-device"><option value="cpu">CPU</option><option value="webgpu">WebGPU</option></select></label>
      <button id="tracer-trace">Trace</button>
      <button id="tracer-run">Trace and run</button>
      <button id="tracer-reset">Reset code</button>
      <label><input type="checkbox" id="tracer-optimized" checked /> show optimized graph</label>
    </div>
    <textarea id="tracer-code" class="code" spellcheck="false"></textarea>
    <div id="tracer-error" class="error" hidden></div>
    <div class="cols graph-cols">
      <div id="tracer-graph" class="graph" style="height: 320px"></div>
      <div><h3>Traced graph</h3><pre id="tracer-listing" class="listing"></pre><h3>Output</h3><pre id="tracer-output"></pre></div>
    </div>`;
  const q = <T extends HTMLElement>(id: string): T => host.querySelector<T>(`#${id}`)!;
  const code = q<HTMLTextAreaElement>('tracer-code');
  code.value = DEFAULT_TRACER_CODE;
  const err = q('tracer-error');
  const fail = (e: unknown): void => {
    const x = e as { name?: string; code?: string; message?: string };
    err.hidden = false;
    err.textContent = `${x?.name ?? 'Error'}${x?.code ? ` [${x.code}]` : ''}: ${x?.message ?? String(e)}`;
    q('tracer-output').dataset.state = 'error';
  };
  const go = async (run: boolean): Promise<void> => {
    err.hidden = true;
    const outEl = q('tracer-output');
    outEl.textContent = '';
    outEl.dataset.state = 'running';
    try {
      const device = q<HTMLSelectElement>('tracer-device').value;
      const prog = evaluateTracerCode(tg, device, code.value);
      const c = prog.fn.concrete(...prog.args) as tg.ConcreteFunction;
      const optimized = q<HTMLInputElement>('tracer-optimized').checked;
      drawGraph(q('tracer-graph'), optimized ? c.optimizedModel.graph : c.model.graph);
      q('tracer-listing').textContent = `${c.print()}\n\n${c.formatReport()}`;
      if (!run) {
        outEl.dataset.state = 'traced';
        return;
      }
      const t0 = performance.now();
      const result = await prog.fn(...prog.args);
      const ms = performance.now() - t0;
      const parts: [string, unknown][] = [];
      flatten(result, '', parts);
      await Promise.all(parts.map(([, v]) => (v instanceof tg.TgTensor ? v.data() : undefined))); // WebGPU results stay on the GPU until read
      outEl.textContent = parts.map(([k, v]) => {
        if (v instanceof tg.TgTensor) return `${k || 'result'}: ${v.dtype}[${(v.shape ?? []).join(',')}] ${Array.from(v.dataSync() as ArrayLike<number>).map((x) => Number(Number(x).toPrecision(6))).join(', ')}`;
        return `${k || 'result'}: ${String(v)}`;
      }).join('\n') + `\n(${ms.toFixed(2)} ms, first call includes compiling the plan)`;
      outEl.dataset.state = 'done';
    } catch (e) {
      fail(e);
    }
  };
  q('tracer-trace').addEventListener('click', () => void go(false));
  q('tracer-run').addEventListener('click', () => void go(true));
  q('tracer-reset').addEventListener('click', () => {
    code.value = DEFAULT_TRACER_CODE;
  });
  q('tracer-optimized').addEventListener('change', () => void go(false));
}
