// ImageDecoder on synthetic images: PNG with every row filter, stored/fixed/dynamic deflate blocks,
// palette and 16-bit PNG, top-down 32-bit BMP, ASCII PNM, pixel formats; and the lossy formats' refusal.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateZlib } from '../../kernels/cpu/image-inflate.js';
import { T, rnd, runNode, str } from './image-oracle.js';

function crcless(type: string, body: Uint8Array): Uint8Array {
  // The decoder does not check CRCs; write zeros.
  const out = new Uint8Array(12 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  return out;
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
/** A PNG of 8-bit samples, row filters cycling through 0..4. */
function png(w: number, h: number, colorType: number, samples: number, pix: Uint8Array, level: number, depth = 8, palette?: Uint8Array): Uint8Array {
  const bps = depth / 8;
  const stride = w * samples * bps;
  const raw = new Uint8Array((stride + 1) * h);
  const bpp = Math.max(1, samples * bps);
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const v = pix[y * stride + x]!;
      const a = x >= bpp ? pix[y * stride + x - bpp]! : 0;
      const up = y > 0 ? pix[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? pix[(y - 1) * stride + x - bpp]! : 0;
      const pp = a + up - c, pa = Math.abs(pp - a), pb = Math.abs(pp - up), pc = Math.abs(pp - c);
      const pred = [0, a, up, (a + up) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? up : c][f]!;
      raw[y * (stride + 1) + 1 + x] = (v - pred) & 255;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w); dv.setUint32(4, h);
  ihdr[8] = depth; ihdr[9] = colorType;
  return concat([Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crcless('IHDR', ihdr),
    ...(palette ? [crcless('PLTE', palette)] : []), crcless('IDAT', zlib.deflateSync(raw, { level })), crcless('IEND', new Uint8Array(0))]);
}
const decode = (bytes: Uint8Array, fmt = 'RGB') => runNode('ImageDecoder', [T('uint8', [bytes.length], Array.from(bytes))], { pixel_format: str(fmt) }, { opset: 20 })[0]!;
const randomBytes = (n: number, smooth = false) => Uint8Array.from({ length: n }, (_, i) => (smooth ? (i * 7) & 255 : Math.floor(rnd() * 256)));

describe('inflate', () => {
  it('matches zlib at every level on random and repetitive data', () => {
    for (const data of [randomBytes(5000), randomBytes(20000, true), new Uint8Array(0)]) {
      for (const level of [0, 1, 6, 9]) expect(inflateZlib(zlib.deflateSync(data, { level }))).toEqual(data);
    }
  });
});

describe('ImageDecoder', () => {
  it('PNG RGB, RGBA, gray, palette and 16-bit', () => {
    const [w, h] = [13, 11];
    const rgb = randomBytes(w * h * 3);
    for (const level of [0, 1, 9]) expect(decode(png(w, h, 2, 3, rgb, level)).data).toEqual(rgb);
    const rgba = randomBytes(w * h * 4);
    expect(decode(png(w, h, 6, 4, rgba, 6)).data).toEqual(rgba.filter((_, i) => i % 4 !== 3));
    const gray = randomBytes(w * h);
    const g = decode(png(w, h, 0, 1, gray, 6), 'Grayscale');
    expect(g.dims).toEqual([h, w, 1]);
    expect(g.data).toEqual(gray);
    const pal = randomBytes(16 * 3);
    const idx = Uint8Array.from({ length: w * h }, () => Math.floor(rnd() * 16));
    expect(decode(png(w, h, 3, 1, idx, 6, 8, pal)).data).toEqual(Uint8Array.from(Array.from(idx).flatMap((i) => [pal[i * 3]!, pal[i * 3 + 1]!, pal[i * 3 + 2]!])));
    const wide = randomBytes(w * h * 6);
    expect(decode(png(w, h, 2, 3, wide, 6, 16)).data).toEqual(wide.filter((_, i) => i % 2 === 0));
  });
  it('BGR and Grayscale from RGB', () => {
    const rgb = randomBytes(4 * 3 * 3);
    const bytes = png(4, 3, 2, 3, rgb, 6);
    const bgr = decode(bytes, 'BGR').data as Uint8Array;
    expect(bgr[0]).toBe(rgb[2]);
    expect(bgr[2]).toBe(rgb[0]);
    const l = decode(bytes, 'Grayscale').data as Uint8Array;
    expect(l[0]).toBe((rgb[0]! * 19595 + rgb[1]! * 38470 + rgb[2]! * 7471 + 0x8000) >> 16);
  });
  it('top-down 32-bit BMP and ASCII PNM', () => {
    const [w, h] = [3, 2];
    const bmp = new Uint8Array(54 + w * h * 4);
    const dv = new DataView(bmp.buffer);
    bmp[0] = 0x42; bmp[1] = 0x4d;
    dv.setUint32(10, 54, true); dv.setUint32(14, 40, true); dv.setInt32(18, w, true); dv.setInt32(22, -h, true);
    dv.setUint16(26, 1, true); dv.setUint16(28, 32, true);
    for (let i = 0; i < w * h; i++) bmp.set([i, 10 + i, 20 + i, 255], 54 + i * 4);
    expect(Array.from(decode(bmp).data as Uint8Array)).toEqual(Array.from({ length: w * h }, (_, i) => [20 + i, 10 + i, i]).flat());
    const pnm = new TextEncoder().encode('P3\n# comment\n2 1\n15\n15 0 0  0 15 3\n');
    expect(Array.from(decode(pnm).data as Uint8Array)).toEqual([255, 0, 0, 0, 255, 51]);
  });
  it('refuses lossy formats as unsupported and garbage as bad input', () => {
    expect(() => decode(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toThrow(/JPEG images are not supported/);
    expect(() => decode(Uint8Array.from([1, 2, 3]))).toThrow(/not an image format/);
  });
});
