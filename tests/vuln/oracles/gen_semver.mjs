// Writes N random SemVer pairs with npm's semver.compare verdict (the oracle).
// usage: node gen_semver.mjs OUT.tsv N SEED   (semver from tests/e2e/node_modules)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../e2e/package.json', import.meta.url));
const semver = require('semver');

const [out, nStr, seedStr] = process.argv.slice(2);
const n = Number(nStr);
let seed = BigInt(seedStr) || 1n;
const rand = () => {  // xorshift64*
  seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
  return Number(((seed * 2685821657736338717n) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const num = () => String(pick([0, 0, 1, 2, 3, 9, 10, 11, 99, 100, Math.floor(rand() * 1e6)]));
const ident = () => pick(['alpha', 'beta', 'rc', 'a', 'b', 'x-y', 'pre', '0a', 'a0', num(), num(), 'ALPHA', '-']);
function randVersion() {
  let v = (rand() < 0.05 ? 'v' : '') + `${num()}.${num()}.${num()}`;
  if (rand() < 0.5) {
    const k = 1 + Math.floor(rand() * 3);
    v += '-' + Array.from({ length: k }, ident).join('.');
  }
  if (rand() < 0.15) v += '+' + Array.from({ length: 1 + Math.floor(rand() * 2) }, ident).join('.');
  return v;
}
function mutate(v) {
  const r = rand();
  if (r < 0.3) return v + pick(['.1', '.0', '-0', '-alpha', '+b1', '.x']);
  if (r < 0.6) {
    const ds = [...v].map((c, i) => (c >= '0' && c <= '9' ? i : -1)).filter((i) => i >= 0);
    if (ds.length) { const i = pick(ds); return v.slice(0, i) + Math.floor(rand() * 10) + v.slice(i + 1); }
  }
  if (r < 0.75 && v.includes('-')) return v.split('-')[0];
  return randVersion();
}
const lines = [];
while (lines.length < n) {
  const a = randVersion();
  const b = rand() < 0.6 ? mutate(a) : randVersion();
  if (!semver.valid(a) || !semver.valid(b)) continue;
  lines.push(`${a}\t${b}\t${semver.compare(a, b)}`);
}
writeFileSync(out, lines.join('\n') + '\n');
