// ImageDecoder on CPU for the formats that decode exactly without a codec library: PNG (non-interlaced),
// BMP (uncompressed 8/24/32-bit), PNM (P2/P3/P5/P6) and uncompressed TIFF. JPEG, JPEG 2000 and WebP need
// lossy codecs whose output must match libjpeg/PIL bit for bit; they are reported as unsupported.
import { UnsupportedOpError } from '../../graph/errors.js';
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import { inflateZlib } from './image-inflate.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';

/** Decoded pixels: 1 (gray) or 3 (RGB) channels, 8 bits each, row-major. */
interface Pixels { width: number; height: number; channels: 1 | 3; data: Uint8Array }

class DecodeError extends Error {}

function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function decodePng(b: Uint8Array): Pixels {
  let p = 8;
  let width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (p + 8 <= b.length) {
    const len = be32(b, p);
    const type = String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    const body = b.subarray(p + 8, p + 8 + len);
    if (body.length !== len) throw new DecodeError('PNG chunk runs past the end of the data');
    if (type === 'IHDR') {
      width = be32(body, 0);
      height = be32(body, 4);
      depth = body[8]!;
      colorType = body[9]!;
      interlace = body[12]!;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  if (!width || !height) throw new DecodeError('PNG has no IHDR');
  if (interlace) throw new DecodeError('interlaced PNG is not supported');
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (!samples || ![1, 2, 4, 8, 16].includes(depth)) throw new DecodeError(`PNG color type ${colorType} with bit depth ${depth} is not valid`);
  let total = 0;
  for (const c of idat) total += c.length;
  const z = new Uint8Array(total);
  let o = 0;
  for (const c of idat) { z.set(c, o); o += c.length; }
  const stride = Math.ceil((width * samples * depth) / 8);
  const raw = inflateZlib(z, (stride + 1) * height);
  if (raw.length < (stride + 1) * height) throw new DecodeError('PNG image data is too short');
  // Undo the per-row filters in place into `rows`.
  const bpp = Math.max(1, (samples * depth) / 8);
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? rows[dst + x - bpp]! : 0;
      const up = y > 0 ? rows[dst - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? rows[dst - stride + x - bpp]! : 0;
      let v = raw[src + x]!;
      switch (f) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += up; break;
        case 3: v += (a + up) >> 1; break;
        case 4: {
          const pp = a + up - c, pa = Math.abs(pp - a), pb = Math.abs(pp - up), pc = Math.abs(pp - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
          break;
        }
        default: throw new DecodeError(`PNG row filter ${f} is not valid`);
      }
      rows[dst + x] = v & 255;
    }
  }
  // Sample s of pixel x in row y, scaled to 8 bits (16-bit keeps the high byte, as PIL).
  const sample = (y: number, x: number, s: number): number => {
    const i = x * samples + s;
    if (depth === 8) return rows[y * stride + i]!;
    if (depth === 16) return rows[y * stride + 2 * i]!;
    const bit = i * depth;
    const v = (rows[y * stride + (bit >> 3)]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    return colorType === 3 ? v : Math.round((v * 255) / ((1 << depth) - 1));
  };
  const gray = colorType === 0 || colorType === 4;
  const out: Pixels = { width, height, channels: gray ? 1 : 3, data: new Uint8Array(width * height * (gray ? 1 : 3)) };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = (y * width + x) * out.channels;
      if (gray) out.data[d] = sample(y, x, 0);
      else if (colorType === 3) {
        const idx = sample(y, x, 0);
        if (!palette || idx * 3 + 2 >= palette.length) throw new DecodeError('PNG palette index out of range');
        out.data.set(palette.subarray(idx * 3, idx * 3 + 3), d);
      } else for (let s = 0; s < 3; s++) out.data[d + s] = sample(y, x, s);
    }
  }
  return out;
}

function decodeBmp(b: Uint8Array): Pixels {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const offset = dv.getUint32(10, true);
  const width = dv.getInt32(18, true);
  const h = dv.getInt32(22, true);
  const bits = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const headerSize = dv.getUint32(14, true);
  if (compression !== 0 && !(compression === 3 && bits === 32)) throw new DecodeError(`BMP compression ${compression} is not supported`);
  if (![8, 24, 32].includes(bits)) throw new DecodeError(`BMP with ${bits} bits per pixel is not supported`);
  const height = Math.abs(h);
  const rowSize = Math.ceil((width * bits) / 32) * 4;
  if (offset + rowSize * height > b.length) throw new DecodeError('BMP pixel data runs past the end');
  const out: Pixels = { width, height, channels: 3, data: new Uint8Array(width * height * 3) };
  const palette = bits === 8 ? b.subarray(14 + headerSize, offset) : undefined;
  for (let y = 0; y < height; y++) {
    // Rows are stored bottom-up unless the height is negative.
    const row = offset + (h > 0 ? height - 1 - y : y) * rowSize;
    for (let x = 0; x < width; x++) {
      const d = (y * width + x) * 3;
      let s = row + x * (bits >> 3);
      let src: Uint8Array = b;
      if (palette) { src = palette; s = b[row + x]! * 4; }
      out.data[d] = src[s + 2]!;
      out.data[d + 1] = src[s + 1]!;
      out.data[d + 2] = src[s]!;
    }
  }
  return out;
}

function decodePnm(b: Uint8Array): Pixels {
  const kind = b[1]! - 48;
  if (![2, 3, 5, 6].includes(kind)) throw new DecodeError(`PNM P${kind} is not supported`);
  let p = 2;
  const token = (): number => {
    for (;;) {
      while (p < b.length && /\s/.test(String.fromCharCode(b[p]!))) p++;
      if (b[p] === 35) while (p < b.length && b[p] !== 10) p++;
      else break;
    }
    let s = '';
    while (p < b.length && b[p]! >= 48 && b[p]! <= 57) s += String.fromCharCode(b[p++]!);
    if (!s) throw new DecodeError('PNM header is malformed');
    return Number(s);
  };
  const width = token(), height = token(), maxval = token();
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const n = width * height * channels;
  const out: Pixels = { width, height, channels, data: new Uint8Array(n) };
  const scale = (v: number) => (maxval === 255 ? v : Math.round((v * 255) / maxval));
  if (kind === 5 || kind === 6) {
    p++; // the single whitespace after maxval
    const wide = maxval > 255;
    for (let i = 0; i < n; i++) {
      const v = wide ? (b[p + 2 * i]! << 8) | b[p + 2 * i + 1]! : b[p + i]!;
      if (p + (wide ? 2 * i + 1 : i) >= b.length) throw new DecodeError('PNM pixel data is too short');
      out.data[i] = scale(v);
    }
  } else for (let i = 0; i < n; i++) out.data[i] = scale(token());
  return out;
}

function decodeTiff(b: Uint8Array): Pixels {
  const le = b[0] === 0x49;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const ifd = u32(4);
  const tags = new Map<number, number[]>();
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    const tag = u16(e), type = u16(e + 2), n = u32(e + 4);
    const size = type === 3 ? 2 : type === 4 ? 4 : 1;
    const at = n * size <= 4 ? e + 8 : u32(e + 8);
    const vals: number[] = [];
    for (let k = 0; k < n; k++) vals.push(size === 2 ? u16(at + 2 * k) : size === 4 ? u32(at + 4 * k) : b[at + k]!);
    tags.set(tag, vals);
  }
  const get = (t: number, d?: number): number => {
    const v = tags.get(t)?.[0] ?? d;
    if (v === undefined) throw new DecodeError(`TIFF tag ${t} is missing`);
    return v;
  };
  const width = get(256), height = get(257), compression = get(259, 1), photometric = get(262), spp = get(277, 1);
  if (compression !== 1) throw new DecodeError(`TIFF compression ${compression} is not supported`);
  if (get(284, 1) !== 1) throw new DecodeError('planar TIFF is not supported');
  if ((tags.get(258) ?? [8]).some((v) => v !== 8)) throw new DecodeError('TIFF with other than 8 bits per sample is not supported');
  if (!((photometric === 2 && spp >= 3) || (photometric <= 1 && spp >= 1))) throw new DecodeError(`TIFF photometric ${photometric} is not supported`);
  const channels: 1 | 3 = photometric === 2 ? 3 : 1;
  const offsets = tags.get(273) ?? [];
  const counts = tags.get(279) ?? [];
  const strip = new Uint8Array(width * height * spp);
  let o = 0;
  offsets.forEach((off, i) => {
    const len = Math.min(counts[i] ?? 0, strip.length - o);
    strip.set(b.subarray(off, off + len), o);
    o += len;
  });
  if (o < strip.length) throw new DecodeError('TIFF strips are too short');
  const out: Pixels = { width, height, channels, data: new Uint8Array(width * height * channels) };
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) {
      const v = strip[i * spp + c]!;
      out.data[i * channels + c] = photometric === 0 ? 255 - v : v;
    }
  }
  return out;
}

function unsupported(ctx: CpuContext, what: string): never {
  throw new UnsupportedOpError([{ op: 'ImageDecoder', domain: '', opset: ctx.opset, nodes: [ctx.node.name], reason: `${what} images are not supported (lossy codecs)` }]);
}

export const imageDecoder: CpuKernel = (inputs, ctx) => {
  const t = tensorArg(inputs, 0, ctx);
  if (t.dtype !== 'uint8' || t.dims.length !== 1) throw new KernelInputError(ctx, `encoded_stream must be 1-D uint8, got ${t.dtype}[${t.dims.join(',')}]`);
  const fmt = ctx.attrs.string('pixel_format', 'RGB');
  if (fmt !== 'RGB' && fmt !== 'BGR' && fmt !== 'Grayscale') throw new KernelInputError(ctx, `pixel_format must be RGB, BGR or Grayscale, got '${fmt}'`);
  const b = t.data as Uint8Array;
  const magic = (s: number[], at = 0) => s.every((v, i) => b[at + i] === v);
  let px: Pixels;
  try {
    if (magic([0x89, 0x50, 0x4e, 0x47])) px = decodePng(b);
    else if (magic([0x42, 0x4d])) px = decodeBmp(b);
    else if (b[0] === 0x50 && b[1]! >= 0x31 && b[1]! <= 0x36) px = decodePnm(b);
    else if (magic([0x49, 0x49, 0x2a, 0]) || magic([0x4d, 0x4d, 0, 0x2a])) px = decodeTiff(b);
    else if (magic([0xff, 0xd8])) unsupported(ctx, 'JPEG');
    else if (magic([0x52, 0x49, 0x46, 0x46]) && magic([0x57, 0x45, 0x42, 0x50], 8)) unsupported(ctx, 'WebP');
    else if (magic([0, 0, 0, 0x0c, 0x6a, 0x50]) || magic([0xff, 0x4f, 0xff, 0x51])) unsupported(ctx, 'JPEG 2000');
    else throw new DecodeError('the data is not an image format tgraph recognizes');
  } catch (e) {
    if (e instanceof DecodeError || (e instanceof Error && /deflate|zlib/.test(e.message)) || e instanceof RangeError) {
      throw new KernelInputError(ctx, `cannot decode image: ${e.message}`);
    }
    throw e;
  }
  const n = px.width * px.height;
  const out = allocTensor('uint8', [px.height, px.width, fmt === 'Grayscale' ? 1 : 3]);
  const d = out.data as Uint8Array;
  const s = px.data;
  for (let i = 0; i < n; i++) {
    const [r, g, bl] = px.channels === 3 ? [s[i * 3]!, s[i * 3 + 1]!, s[i * 3 + 2]!] : [s[i]!, s[i]!, s[i]!];
    if (fmt === 'Grayscale') {
      // PIL's "L" conversion (ITU-R 601-2 luma in 16-bit fixed point).
      d[i] = px.channels === 1 ? r : (r * 19595 + g * 38470 + bl * 7471 + 0x8000) >> 16;
    } else if (fmt === 'RGB') { d[i * 3] = r; d[i * 3 + 1] = g; d[i * 3 + 2] = bl; } else { d[i * 3] = bl; d[i * 3 + 1] = g; d[i * 3 + 2] = r; }
  }
  return [out];
};
