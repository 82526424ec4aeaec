// A small zlib/DEFLATE decoder (RFC 1950/1951) for PNG in ImageDecoder; platform-neutral (no node:zlib),
// since kernels also run in browsers. Canonical Huffman decoding as in zlib's puff.c.

class BitReader {
  pos = 0;
  private bit = 0;
  private bits = 0;
  constructor(private readonly buf: Uint8Array) {}
  need(n: number): number {
    let v = this.bit;
    while (this.bits < n) {
      if (this.pos >= this.buf.length) throw new Error('deflate stream ends early');
      v |= this.buf[this.pos++]! << this.bits;
      this.bits += 8;
    }
    this.bit = v >>> n;
    this.bits -= n;
    return v & ((1 << n) - 1);
  }
  alignByte(): void {
    this.bit = 0;
    this.bits = 0;
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('deflate stream ends early');
    return this.buf[this.pos++]!;
  }
}

interface Huffman { count: Uint16Array; symbol: Uint16Array }

function buildHuffman(lengths: ArrayLike<number>, n: number): Huffman {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]!]!++;
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  for (let s = 0; s < n; s++) if (lengths[s]) symbol[offs[lengths[s]!]!++] = s;
  return { count, symbol };
}

function decodeSym(r: BitReader, h: Huffman): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    code |= r.need(1);
    const c = h.count[len]!;
    if (code - c < first) return h.symbol[index + (code - first)]!;
    index += c;
    first += c;
    first <<= 1;
    code <<= 1;
  }
  throw new Error('invalid Huffman code in deflate stream');
}

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

let fixed: [Huffman, Huffman] | undefined;
function fixedTables(): [Huffman, Huffman] {
  if (!fixed) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144); l.fill(9, 144, 256); l.fill(7, 256, 280); l.fill(8, 280, 288);
    fixed = [buildHuffman(l, 288), buildHuffman(new Uint8Array(30).fill(5), 30)];
  }
  return fixed;
}

/** Inflate a zlib stream (2-byte header, deflate data, Adler-32 not checked). */
export function inflateZlib(data: Uint8Array, sizeHint = 0): Uint8Array {
  if (data.length < 2 || (data[0]! & 0x0f) !== 8 || ((data[0]! << 8) | data[1]!) % 31 !== 0) throw new Error('not a zlib stream');
  if (data[1]! & 0x20) throw new Error('zlib preset dictionaries are not supported');
  const r = new BitReader(data.subarray(2));
  let out = new Uint8Array(Math.max(sizeHint, 1024));
  let n = 0;
  const ensure = (extra: number) => {
    if (n + extra <= out.length) return;
    let cap = out.length * 2;
    while (cap < n + extra) cap *= 2;
    const o = new Uint8Array(cap);
    o.set(out.subarray(0, n));
    out = o;
  };
  for (;;) {
    const last = r.need(1);
    const type = r.need(2);
    if (type === 0) {
      r.alignByte();
      const len = r.byte() | (r.byte() << 8);
      r.byte(); r.byte(); // one's complement of len
      ensure(len);
      for (let i = 0; i < len; i++) out[n++] = r.byte();
    } else if (type === 1 || type === 2) {
      let lit: Huffman, dist: Huffman;
      if (type === 1) [lit, dist] = fixedTables();
      else {
        const nlen = r.need(5) + 257, ndist = r.need(5) + 1, ncode = r.need(4) + 4;
        const lengths = new Uint8Array(320);
        for (let i = 0; i < ncode; i++) lengths[ORDER[i]!] = r.need(3);
        const lencode = buildHuffman(lengths, 19);
        lengths.fill(0);
        for (let i = 0; i < nlen + ndist;) {
          const sym = decodeSym(r, lencode);
          if (sym < 16) lengths[i++] = sym;
          else {
            let rep: number, val = 0;
            if (sym === 16) {
              if (i === 0) throw new Error('invalid deflate code lengths');
              val = lengths[i - 1]!;
              rep = 3 + r.need(2);
            } else if (sym === 17) rep = 3 + r.need(3);
            else rep = 11 + r.need(7);
            if (i + rep > nlen + ndist) throw new Error('invalid deflate code lengths');
            while (rep--) lengths[i++] = val;
          }
        }
        lit = buildHuffman(lengths.subarray(0, nlen), nlen);
        dist = buildHuffman(lengths.subarray(nlen, nlen + ndist), ndist);
      }
      for (;;) {
        let sym = decodeSym(r, lit);
        if (sym < 256) {
          ensure(1);
          out[n++] = sym;
        } else if (sym === 256) break;
        else {
          sym -= 257;
          if (sym >= 29) throw new Error('invalid deflate length code');
          const len = LBASE[sym]! + r.need(LEXT[sym]!);
          const ds = decodeSym(r, dist);
          if (ds >= 30) throw new Error('invalid deflate distance code');
          const d = DBASE[ds]! + r.need(DEXT[ds]!);
          if (d > n) throw new Error('deflate distance reaches before the output');
          ensure(len);
          for (let i = 0; i < len; i++, n++) out[n] = out[n - d]!;
        }
      }
    } else throw new Error('invalid deflate block type');
    if (last) break;
  }
  return out.subarray(0, n);
}
