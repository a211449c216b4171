/**
 * `npm run image`: the controller image as an OCI image layout plus a docker-archive tarball,
 * with no container engine (docs/packaging.md#container-image).
 *   tsx scripts/image.ts [--out DIR] [--base DIR] [--kustomize FILE] [--no-archive] [--layer-trees DIR]
 *   --out DIR    where to write (default: build/image): oci/ (the layout, tag = the package
 *                version), secret-manager-controller.tar (docker-archive), sbom.spdx.json,
 *                image.json (digest, layers, sizes)
 *   --base DIR   a built Debian base (default: the `image-base` peer, installed if missing)
 *   --kustomize FILE     the kustomize binary to ship (default: the `kustomize` peer's)
 *   --no-archive         no docker-archive (skopeo is then not needed)
 *   --layer-trees DIR    also unpack each layer into DIR/<layer> (what the Dockerfile copies)
 * SOURCE_DATE_EPOCH (default: HEAD's commit time) dates the image and SMC_IMAGE_REVISION (default:
 * HEAD) is its revision label; the same commit gives the same digest. Needs root for the base
 * (mmdebstrap) and skopeo (both installed by `scripts/peers install image-tools image-base`).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildImage } from './image-build.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peers = path.join(repo, 'scripts/peers');

let args;
try {
  args = parseArgs({
    options: {
      out: { type: 'string' },
      base: { type: 'string' },
      kustomize: { type: 'string' },
      'no-archive': { type: 'boolean', default: false },
      'layer-trees': { type: 'string' },
    },
  }).values;
} catch (e) {
  console.error(
    `${(e as Error).message}\nusage: tsx scripts/image.ts [--out DIR] [--base DIR] [--kustomize FILE] [--no-archive] [--layer-trees DIR]`,
  );
  process.exit(2);
}

try {
  const needed = [
    ...(args['no-archive'] ? [] : ['image-tools']),
    ...(args.base ? [] : ['image-base']),
    ...(args.kustomize ? [] : ['kustomize']),
  ];
  if (needed.length > 0) execFileSync(peers, ['install', ...needed], { stdio: 'inherit' });
  const base = args.base ?? execFileSync(peers, ['dir', 'image-base'], { encoding: 'utf8' }).trim();
  const kustomize = args.kustomize ?? execFileSync(peers, ['path', 'kustomize'], { encoding: 'utf8' }).trim();
  const out = path.resolve(args.out ?? path.join(repo, 'build/image'));
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const revision = process.env.SMC_IMAGE_REVISION;
  const image = await buildImage({
    repo,
    base,
    kustomize,
    out,
    archive: !args['no-archive'],
    ...(args['layer-trees'] ? { layerTrees: path.resolve(args['layer-trees']) } : {}),
    ...(epoch ? { sourceDateEpoch: Number(epoch) } : {}),
    ...(revision ? { revision } : {}),
  });
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  for (const l of image.layers) {
    console.log(
      `${l.name.padEnd(17)} ${mb(l.uncompressedSize).padStart(9)} (${mb(l.size)} gzipped, ${l.entries} entries)${l.cached ? ' cached' : ''}  ${l.digest}`,
    );
  }
  const total = image.layers.reduce((s, l) => s + l.uncompressedSize, 0);
  const gz = image.layers.reduce((s, l) => s + l.size, 0);
  console.log(`image ${image.digest}: ${mb(total)} uncompressed, ${mb(gz)} gzipped`);
  console.log(`  oci:${path.join(out, image.layout)}:${image.tag}`);
  if (image.archive) console.log(`  docker-archive:${path.join(out, image.archive)} (docker load -i …)`);
} catch (e) {
  console.error(`image: ${(e as Error).message}`);
  process.exit(1);
}
