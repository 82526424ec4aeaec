// The Tracer corner. PLACEHOLDER: the tracer (src/tracer, tg.fn) is not in the library yet; once it
// is, this panel edits a function written with the tensor API, traces it, draws and runs the graph.
export function mountTracer(host: HTMLElement): void {
  host.innerHTML = '<p class="muted" id="tracer-placeholder">Placeholder: the tracer (<code>tg.fn</code>, src/tracer) is not part of this build yet. ' +
    'When it lands, this corner will let you write a function with the tensor API, trace it, see its graph and run it.</p>';
}
