// The README's Tracer examples, verbatim between the markers (readme.test.ts checks the README holds them).
import * as tg from '../../src/index.js';

// --- mlp ---
const w1 = tg.tensor(Float32Array.from({ length: 4 * 8 }, (_, i) => Math.sin(i) / 2), [4, 8]);
const b1 = tg.zeros([8]);
const w2 = tg.tensor(Float32Array.from({ length: 8 * 3 }, (_, i) => Math.cos(i) / 2), [8, 3]);

const mlp = tg.fn((x: tg.TgTensor) => x.matmul(w1).add(b1).relu().matmul(w2).softmax(-1), {
  inputSignature: [tg.spec([null, 4])], // any batch size, one trace
});
const probs = await mlp(tg.tensor([[1, 2, 3, 4], [0, -1, 0, 1]]));
console.log(await probs.array(), mlp.traceCount); // [[...], [...]] 1
// --- end mlp ---

// --- cnn ---
const kernel = tg.tensor(Float32Array.from({ length: 4 * 1 * 3 * 3 }, (_, i) => ((i % 5) - 2) / 4), [4, 1, 3, 3]);
const fc = tg.tensor(Float32Array.from({ length: 4 * 4 * 4 * 10 }, (_, i) => Math.sin(i) / 8), [64, 10]);

function classify(img: tg.TgTensor) {
  const h = tg.conv2d(img, kernel, undefined, { padding: 1 }).relu(); // [n, 4, 8, 8]
  const pooled = tg.maxPool2d(h, 2);                                   // [n, 4, 4, 4]
  return tg.linear(tg.flatten(pooled), fc).softmax();                  // [n, 10]
}
const cnn = tg.fn(classify);
const image = tg.tensor(Float32Array.from({ length: 64 }, (_, i) => (i % 7) / 7), [1, 1, 8, 8]);
const scores = await cnn(image);

const concrete = cnn.concrete(image);
console.log(concrete.print());        // the traced graph, one node per line with its source line
console.log(concrete.formatReport()); // what the optimizer did
const onnxBytes = concrete.toOnnx();  // loads in onnxruntime-node: same outputs
// --- end cnn ---

export { mlp, probs, cnn, scores, image, onnxBytes, classify };
