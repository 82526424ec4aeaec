// 64-bit integers in WGSL, which has none: an int64/uint64 element is a vec2<u32> of its (lo, hi)
// words, exactly its bits (uploads and read backs are byte copies; no value is ever narrowed).
// Add, sub and mul are two's complement on both words; division is shift-subtract; conversions
// from and to f32 reproduce the CPU kernels' results (Number(bigint) then Math.fround: two roundings
// to nearest even; float -> int64 truncates, with NaN and out-of-range values giving INT64_MIN).

/** WGSL helper functions by name; an emitter includes those its code calls (`withHelpers`). */
export const I64_HELPERS: Record<string, string> = {
  tg_i64_add: `fn tg_i64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { let lo = a.x + b.x; return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x)); }`,
  tg_i64_neg: `fn tg_i64_neg(a: vec2<u32>) -> vec2<u32> { return tg_i64_add(~a, vec2<u32>(1u, 0u)); }`,
  tg_i64_sub: `fn tg_i64_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return tg_i64_add(a, tg_i64_neg(b)); }`,
  tg_mul32: `fn tg_mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}`,
  tg_i64_mul: `fn tg_i64_mul(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { let p = tg_mul32(a.x, b.x); return vec2<u32>(p.x, p.y + a.x * b.y + a.y * b.x); }`,
  tg_i64_isneg: `fn tg_i64_isneg(a: vec2<u32>) -> bool { return (a.y & 0x80000000u) != 0u; }`,
  tg_i64_lt: `fn tg_i64_lt(a: vec2<u32>, b: vec2<u32>) -> bool { let ah = bitcast<i32>(a.y); let bh = bitcast<i32>(b.y); return ah < bh || (ah == bh && a.x < b.x); }`,
  tg_u64_lt: `fn tg_u64_lt(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }`,
  tg_i64_max: `fn tg_i64_max(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, tg_i64_lt(a, b)); }`,
  tg_i64_min: `fn tg_i64_min(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, tg_i64_lt(b, a)); }`,
  tg_u64_max: `fn tg_u64_max(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, tg_u64_lt(a, b)); }`,
  tg_u64_min: `fn tg_u64_min(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, tg_u64_lt(b, a)); }`,
  tg_i64_abs: `fn tg_i64_abs(a: vec2<u32>) -> vec2<u32> { return select(a, tg_i64_neg(a), tg_i64_isneg(a)); }`,
  tg_i64_sign: `fn tg_i64_sign(a: vec2<u32>) -> vec2<u32> {
  if (tg_i64_isneg(a)) { return vec2<u32>(0xffffffffu, 0xffffffffu); }
  return vec2<u32>(select(0u, 1u, any(a != vec2<u32>(0u))), 0u);
}`,
  tg_i64_from_i32: `fn tg_i64_from_i32(x: i32) -> vec2<u32> { return vec2<u32>(bitcast<u32>(x), select(0u, 0xffffffffu, x < 0)); }`,
  tg_u64_shl: `fn tg_u64_shl(a: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return a; }
  if (s >= 64u) { return vec2<u32>(0u); }
  if (s >= 32u) { return vec2<u32>(0u, a.x << (s - 32u)); }
  return vec2<u32>(a.x << s, (a.y << s) | (a.x >> (32u - s)));
}`,
  tg_u64_shr: `fn tg_u64_shr(a: vec2<u32>, s: u32) -> vec2<u32> {
  if (s == 0u) { return a; }
  if (s >= 64u) { return vec2<u32>(0u); }
  if (s >= 32u) { return vec2<u32>(a.y >> (s - 32u), 0u); }
  return vec2<u32>((a.x >> s) | (a.y << (32u - s)), a.y >> s);
}`,
  // Unsigned quotient and remainder (both 0 when d is 0; the CPU kernels throw there).
  tg_u64_divmod: `struct TgDivMod { q: vec2<u32>, r: vec2<u32> };
fn tg_u64_divmod(n: vec2<u32>, d: vec2<u32>) -> TgDivMod {
  if (all(d == vec2<u32>(0u))) { return TgDivMod(vec2<u32>(0u), vec2<u32>(0u)); }
  if (n.y == 0u && d.y == 0u) { return TgDivMod(vec2<u32>(n.x / d.x, 0u), vec2<u32>(n.x % d.x, 0u)); }
  var q = vec2<u32>(0u);
  var r = vec2<u32>(0u);
  for (var i = 63u; ; i = i - 1u) {
    r = tg_u64_shl(r, 1u);
    let w = select(n.x, n.y, i >= 32u);
    r.x = r.x | ((w >> (i & 31u)) & 1u);
    if (!tg_u64_lt(r, d)) {
      r = tg_i64_sub(r, d);
      if (i >= 32u) { q.y = q.y | (1u << (i & 31u)); } else { q.x = q.x | (1u << i); }
    }
    if (i == 0u) { break; }
  }
  return TgDivMod(q, r);
}`,
  tg_i64_div: `fn tg_i64_div(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let q = tg_u64_divmod(tg_i64_abs(a), tg_i64_abs(b)).q;
  return select(q, tg_i64_neg(q), tg_i64_isneg(a) != tg_i64_isneg(b));
}`,
  // C's fmod: the remainder has the sign of the dividend.
  tg_i64_fmod: `fn tg_i64_fmod(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let r = tg_u64_divmod(tg_i64_abs(a), tg_i64_abs(b)).r;
  return select(r, tg_i64_neg(r), tg_i64_isneg(a));
}`,
  // Python's %: the remainder has the sign of the divisor.
  tg_i64_mod: `fn tg_i64_mod(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let r = tg_i64_fmod(a, b);
  if (any(r != vec2<u32>(0u)) && tg_i64_isneg(r) != tg_i64_isneg(b)) { return tg_i64_add(r, b); }
  return r;
}`,
  tg_u64_bitlen: `fn tg_u64_bitlen(a: vec2<u32>) -> u32 { if (a.y != 0u) { return 64u - countLeadingZeros(a.y); } return 32u - countLeadingZeros(a.x); }`,
  // a / 2^s rounded to nearest, ties to even (1 <= s <= 63).
  tg_u64_rne: `fn tg_u64_rne(a: vec2<u32>, s: u32) -> vec2<u32> {
  let q = tg_u64_shr(a, s);
  let rem = tg_i64_sub(a, tg_u64_shl(q, s));
  let half = tg_u64_shl(vec2<u32>(1u, 0u), s - 1u);
  if (tg_u64_lt(half, rem) || (all(rem == half) && (q.x & 1u) == 1u)) { return tg_i64_add(q, vec2<u32>(1u, 0u)); }
  return q;
}`,
  // As the CPU: to the nearest double first (53 bits), then to the nearest float.
  tg_u64_to_f32: `fn tg_u64_to_f32(a0: vec2<u32>) -> f32 {
  var a = a0;
  var L = tg_u64_bitlen(a);
  if (L > 53u) {
    let q = tg_u64_rne(a, L - 53u);
    if (tg_u64_bitlen(q) > 53u) { return ldexp(1.0, i32(L)); }
    a = tg_u64_shl(q, L - 53u);
  }
  if (L <= 24u) { return f32(a.x); }
  let s = L - 24u;
  let q = tg_u64_rne(a, s);
  return ldexp(f32(q.x), i32(s));
}`,
  tg_i64_to_f32: `fn tg_i64_to_f32(a: vec2<u32>) -> f32 { if (tg_i64_isneg(a)) { return -tg_u64_to_f32(tg_i64_neg(a)); } return tg_u64_to_f32(a); }`,
  // |trunc(x)| as an unsigned 64-bit value, for |x| < 2^64.
  tg_f32_mag64: `fn tg_f32_mag64(x: f32) -> vec2<u32> {
  let b = bitcast<u32>(x) & 0x7fffffffu;
  let e = i32(b >> 23u) - 127;
  if (e < 0) { return vec2<u32>(0u); }
  let m = (b & 0x7fffffu) | 0x800000u;
  if (e <= 23) { return vec2<u32>(m >> u32(23 - e), 0u); }
  return tg_u64_shl(vec2<u32>(m, 0u), u32(e - 23));
}`,
  // 0x5f000000 is 2^63, 0x5f800000 2^64.
  tg_f32_to_i64: `fn tg_f32_to_i64(x: f32) -> vec2<u32> {
  if (!(x >= -bitcast<f32>(0x5f000000u) && x < bitcast<f32>(0x5f000000u))) { return vec2<u32>(0u, 0x80000000u); }
  let m = tg_f32_mag64(x);
  return select(m, tg_i64_neg(m), x < 0.0);
}`,
  tg_f32_to_u64: `fn tg_f32_to_u64(x: f32) -> vec2<u32> {
  if (x >= 0.0 && x < bitcast<f32>(0x5f800000u)) { return tg_f32_mag64(x); }
  if (x < 0.0 && x >= -bitcast<f32>(0x5f000000u)) { return tg_i64_neg(tg_f32_mag64(x)); }
  return vec2<u32>(0u, 0x80000000u);
}`,
  // float32 -> float64 bits (exact; f32 subnormals normalized).
  tg_f32_to_f64: `fn tg_f32_to_f64(x: f32) -> vec2<u32> {
  let b = bitcast<u32>(x);
  let sign = b & 0x80000000u;
  let e = (b >> 23u) & 0xffu;
  var m = b & 0x7fffffu;
  if (e == 0xffu) { return vec2<u32>(m << 29u, sign | 0x7ff00000u | (m >> 3u)); }
  if (e == 0u) {
    if (m == 0u) { return vec2<u32>(0u, sign); }
    let p = 31u - countLeadingZeros(m);
    m = (m << (23u - p)) & 0x7fffffu;
    return vec2<u32>(m << 29u, sign | ((p + 874u) << 20u) | (m >> 3u));
  }
  return vec2<u32>(m << 29u, sign | ((e + 896u) << 20u) | (m >> 3u));
}`,
  // float64 bits -> float32, rounded to nearest even as a Float32Array store (overflow: inf; subnormals kept).
  tg_f64_to_f32: `fn tg_f64_to_f32(v: vec2<u32>) -> f32 {
  let sign = v.y & 0x80000000u;
  let e = i32((v.y >> 20u) & 0x7ffu);
  let hm = v.y & 0xfffffu;
  if (e == 0x7ff) { return bitcast<f32>(sign | 0x7f800000u | select(0u, 0x400000u, hm != 0u || v.x != 0u)); }
  let E = e - 1023;
  if (E > 127) { return bitcast<f32>(sign | 0x7f800000u); }
  let M = vec2<u32>(v.x, hm | select(0u, 0x100000u, e != 0));
  if (E >= -126) {
    let q = tg_u64_rne(M, 29u);
    return bitcast<f32>(sign | ((u32(E + 127) << 23u) + (q.x - 0x800000u)));
  }
  let s = u32(-97 - E);
  if (s >= 64u) { return bitcast<f32>(sign); }
  return bitcast<f32>(sign | tg_u64_rne(M, s).x);
}`,
};

/** The helper functions `code` calls, with those they call in turn (WGSL declarations are order-free). */
export function withHelpers(code: string, table: Record<string, string> = I64_HELPERS): string[] {
  const used = new Set<string>();
  let frontier = [code];
  while (frontier.length) {
    const next: string[] = [];
    for (const text of frontier) {
      for (const name of Object.keys(table)) {
        if (!used.has(name) && new RegExp(`\\b${name}\\(`).test(text)) {
          used.add(name);
          next.push(table[name]!);
        }
      }
    }
    frontier = next;
  }
  return Object.keys(table).filter((n) => used.has(n)).map((n) => table[n]!);
}
