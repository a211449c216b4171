/**
 * Shamir's secret sharing over GF(2^8) (the AES field, x^8+x^4+x^3+x+1), as sops' shamir package
 * (from HashiCorp Vault) does: each share is the y bytes followed by a one-byte x coordinate.
 * Only recombination is needed to decrypt.
 */
function mult(a: number, b: number): number {
  let acc = 0;
  for (let i = 7; i >= 0; i--) {
    const bit = (b >> i) & 1;
    acc = ((acc << 1) ^ (acc & 0x80 ? 0x1b : 0)) & 0xff;
    if (bit) acc ^= a;
  }
  return acc;
}

function inverse(a: number): number {
  // a^254 = a^-1 in GF(2^8)
  let r = 1;
  let base = a;
  let e = 254;
  while (e > 0) {
    if (e & 1) r = mult(r, base);
    base = mult(base, base);
    e >>= 1;
  }
  return r;
}

function interpolateAtZero(xs: number[], ys: number[]): number {
  let result = 0;
  for (let i = 0; i < xs.length; i++) {
    let basis = 1;
    for (let j = 0; j < xs.length; j++) {
      if (i === j) continue;
      const num = xs[j] as number; // 0 ^ x_j
      const denom = (xs[i] as number) ^ (xs[j] as number);
      basis = mult(basis, mult(num, inverse(denom)));
    }
    result ^= mult(ys[i] as number, basis);
  }
  return result;
}

export function shamirCombine(parts: Uint8Array[]): Uint8Array {
  if (parts.length < 2) throw new Error('less than two parts cannot be used to reconstruct the secret');
  const len = (parts[0] as Uint8Array).length;
  if (len < 2) throw new Error('parts must be at least two bytes');
  if (parts.some((p) => p.length !== len)) throw new Error('all parts must be the same length');
  const xs = parts.map((p) => p[len - 1] as number);
  if (new Set(xs).size !== xs.length) throw new Error('duplicate part detected');
  const secret = new Uint8Array(len - 1);
  for (let idx = 0; idx < len - 1; idx++) {
    secret[idx] = interpolateAtZero(
      xs,
      parts.map((p) => p[idx] as number),
    );
  }
  return secret;
}

/** Splits a secret (used by tests to build multi-group files). */
export function shamirSplit(
  secret: Uint8Array,
  parts: number,
  threshold: number,
  rand: (n: number) => Uint8Array,
): Uint8Array[] {
  if (parts < threshold || parts > 255 || threshold < 2 || threshold > 255)
    throw new Error('invalid parameters');
  const xs: number[] = [];
  const pool = [...Array(255).keys()].map((x) => x + 1);
  const r = rand(255);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = (r[i] as number) % (i + 1);
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  for (let i = 0; i < parts; i++) xs.push(pool[i] as number);
  const out = xs.map((x) => {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = x;
    return share;
  });
  for (let idx = 0; idx < secret.length; idx++) {
    const coeffs = [secret[idx] as number, ...rand(threshold - 1)];
    xs.forEach((x, pi) => {
      let y = coeffs[coeffs.length - 1] as number;
      for (let k = coeffs.length - 2; k >= 0; k--) y = mult(y, x) ^ (coeffs[k] as number);
      (out[pi] as Uint8Array)[idx] = y;
    });
  }
  return out;
}
