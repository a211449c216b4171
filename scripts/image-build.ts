/**
 * Builds the controller image as an OCI image layout, with no container engine: five layers, each
 * a reproducible tar (scripts/image-layer.ts), bottom to top
 *   1. debian: the Debian base of scripts/image-base.sh (the `image-base` peer's cached rootfs);
 *   2. node: the pinned Node binary (the `node` devDependency) as /usr/local/bin/node;
 *   3. kustomize: the kustomize binary (kustomize-mode rendering; the `kustomize` test peer's pinned
 *      version) as /usr/local/bin/kustomize, a static Go program;
 *   4. npm-dependencies: the production packages of package-lock.json as /app/node_modules,
 *      without type declarations, source maps, TypeScript sources and Markdown (licences kept);
 *   5. app: /app/{package.json,bin,config,dist} (compiled JavaScript of current sources only) and
 *      the SBOM /app/sbom.spdx.json;
 * so a code change changes only the top layer. The config's times are the commit's
 * (SOURCE_DATE_EPOCH), every file's mtime is LAYER_MTIME: the same commit gives the same digest.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type LayerEntry, gzipFile, parentDirs, walk, writeTar } from './image-layer.js';
import { type DebianPackage, type NpmPackage, spdxDocument } from './image-sbom.js';

export const IMAGE_NAME = 'secret-manager-controller';
export const APP_DIR = 'app';
export const NODE_PATH = 'usr/local/bin/node';
export const KUSTOMIZE_PATH = 'usr/local/bin/kustomize';
export const SBOM_PATH = `${APP_DIR}/sbom.spdx.json`;
export const USER = '65532:65532';
export const IMAGE_ENV = [
  'PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin',
  'NODE_ENV=production',
  'HOME=/tmp',
  'TMPDIR=/tmp',
  'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
];
export const ENTRYPOINT = [`/${NODE_PATH}`, `/${APP_DIR}/bin/secret-manager-controller.js`];
/** The metrics port (the `metrics_port` setting's default). */
export const EXPOSED_PORT = 5000;
/** The layers, bottom to top. */
export const LAYER_NAMES = ['debian', 'node', 'kustomize', 'npm-dependencies', 'app'] as const;

export interface BuildOptions {
  repo: string;
  /** The image-base peer's directory (rootfs/ and debian-packages.tsv). */
  base: string;
  /** The kustomize binary to ship (the kustomize peer's). */
  kustomize: string;
  out: string;
  /** Default: the commit time of HEAD (env SOURCE_DATE_EPOCH overrides). */
  sourceDateEpoch?: number;
  /** Default: HEAD. */
  revision?: string;
  /** Write the docker-archive tarball with skopeo (default true). */
  archive?: boolean;
  /** Also unpack each layer's tar into DIR/<layer name> (owners and modes kept; the Dockerfile copies them). */
  layerTrees?: string;
}

export interface BuiltLayer {
  name: string;
  digest: string;
  size: number;
  diffId: string;
  uncompressedSize: number;
  entries: number;
  /** The blob was reused from an earlier build into the same output directory. */
  cached: boolean;
}

export interface BuiltImage {
  /** sha256 of the manifest: the image digest a registry reports. */
  digest: string;
  tag: string;
  layers: BuiltLayer[];
  configDigest: string;
  /** OCI image layout directory (`oci:<layout>:<tag>`) and docker-archive tarball ('' when not written), relative to `out`. */
  layout: string;
  archive: string;
}

const git = (repo: string, args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A Debian package line of the base's debian-packages.tsv. */
function parseDebianPackages(tsv: string, file: string): DebianPackage[] {
  return tsv
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      const [name, version, architecture, source, debSha256] = line.split('\t');
      if (!name || !version || !architecture || !source || !/^[0-9a-f]{64}$/.test(debSha256 ?? ''))
        throw new Error(`${file}:${i + 1}: expected package, version, architecture, source, sha256`);
      return { name, version, architecture, source, debSha256: debSha256! };
    });
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

/** Type declarations, source maps, TypeScript sources, Markdown: not read at run time. Licences stay. */
export function prunedFromDependencies(rel: string, isDir: boolean): boolean {
  if (isDir) return false;
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (/^(licen[cs]e|notice|copying|authors|patents)/i.test(name)) return false;
  return /\.(d\.[cm]?ts|[cm]?ts|tsx|map|md|markdown)$/i.test(name);
}

/** The production packages of package-lock.json that are on disk, checked against it. */
async function productionPackages(repo: string): Promise<{ dir: string; pkg: NpmPackage }[]> {
  const lock = JSON.parse(await readFile(path.join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const out: { dir: string; pkg: NpmPackage }[] = [];
  for (const [dir, e] of Object.entries(lock.packages)) {
    if (!dir || e.dev) continue;
    if (e.link) throw new Error(`package-lock.json: ${dir} is a link; the image cannot hold it`);
    const manifest = path.join(repo, dir, 'package.json');
    if (!existsSync(manifest)) {
      if (e.optional) continue; // another platform's optional package
      throw new Error(`${dir} is in package-lock.json but not installed: run npm ci`);
    }
    const installed = JSON.parse(await readFile(manifest, 'utf8')) as { name?: string; version?: string };
    if (installed.version !== e.version) {
      throw new Error(
        `${dir}/package.json has version ${installed.version} but package-lock.json says ${e.version}: run npm ci`,
      );
    }
    const name = installed.name ?? dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push({
      dir,
      pkg: {
        name,
        version: e.version!,
        ...(e.resolved ? { resolved: e.resolved } : {}),
        ...(e.integrity ? { integrity: e.integrity } : {}),
        ...(e.license ? { license: e.license } : {}),
      },
    });
  }
  return out;
}

/** dist/ files compiled from a source that still exists (a removed module's old output is left out). */
async function distEntries(repo: string): Promise<LayerEntry[]> {
  const dist = path.join(repo, 'dist');
  if (!existsSync(path.join(dist, 'controller/entry.js'))) {
    throw new Error(`${dist}/controller/entry.js is missing: run npm run build first`);
  }
  const all = await walk(dist, { prefix: `${APP_DIR}/dist` });
  const kept: LayerEntry[] = [];
  for (const e of all) {
    if (e.type === 'dir') {
      kept.push(e);
      continue;
    }
    const rel = e.path.slice(`${APP_DIR}/dist/`.length);
    const m = /^(.*)\.(js|mjs|cjs|json)$/.exec(rel);
    if (!m || rel.endsWith('.d.ts')) continue;
    const stem = path.join(repo, 'src', m[1]!);
    const sources = m[2] === 'json' ? [`${stem}.json`] : ['.ts', '.mts', '.cts', '.js'].map((x) => stem + x);
    if (sources.some((s) => existsSync(s))) kept.push(e);
  }
  // Directories left empty by the filter are dropped.
  return kept.filter((e) => e.type !== 'dir' || kept.some((f) => f.path.startsWith(`${e.path}/`)));
}

export async function buildImage(opts: BuildOptions): Promise<BuiltImage> {
  const { repo, base, out } = opts;
  const pkgJson = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    description: string;
    license: string;
  };
  const chart = parseYaml(
    await readFile(path.join(repo, 'charts/secret-manager-controller/Chart.yaml'), 'utf8'),
  ) as {
    home: string;
  };
  const revision = opts.revision ?? git(repo, ['rev-parse', 'HEAD']);
  const epoch = opts.sourceDateEpoch ?? Number(git(repo, ['log', '-1', '--format=%ct', 'HEAD']));
  if (!Number.isInteger(epoch) || epoch < 0)
    throw new Error(`SOURCE_DATE_EPOCH ${epoch} is not a number of seconds`);
  const created = new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const tag = pkgJson.version;

  // Inputs -------------------------------------------------------------------------------------
  const tsvFile = path.join(base, 'debian-packages.tsv');
  const debian = parseDebianPackages(await readFile(tsvFile, 'utf8'), tsvFile);
  const arch = debian.find((d) => d.name === 'libc6')?.architecture;
  const nodeArch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!arch || arch !== nodeArch)
    throw new Error(`the base's libc6 is for ${arch}, this Node for ${process.arch}`);
  const osRelease = await readFile(path.join(base, 'rootfs/usr/lib/os-release'), 'utf8');
  const distro = `debian-${/^VERSION_ID="?(\d+)/m.exec(osRelease)?.[1] ?? 'unknown'}`;

  const nodeBin = await realpath(path.join(repo, 'node_modules/node/bin/node'));
  const nodeVersion = (
    JSON.parse(await readFile(path.join(repo, 'node_modules/node/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const reported = execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${nodeVersion}`)
    throw new Error(`${nodeBin} says ${reported}, the node package says ${nodeVersion}`);
  const nodeSha = sha256(await readFile(nodeBin));

  const kustomizeBin = await realpath(opts.kustomize);
  const kustomizeVersion = execFileSync(kustomizeBin, ['version'], { encoding: 'utf8' }).trim();
  if (!/^v\d+\.\d+\.\d+$/.test(kustomizeVersion)) {
    throw new Error(`${kustomizeBin} version printed ${JSON.stringify(kustomizeVersion)}, not a release tag`);
  }
  const kustomizeSha = sha256(await readFile(kustomizeBin));

  const deps = await productionPackages(repo);
  const sbom = spdxDocument({
    app: {
      name: pkgJson.name,
      version: pkgJson.version,
      revision,
      source: chart.home,
      license: pkgJson.license,
    },
    node: { version: nodeVersion, sha256: nodeSha },
    kustomize: { version: kustomizeVersion, sha256: kustomizeSha },
    npm: deps.map((d) => d.pkg),
    debian,
    distro,
    created: new Date(epoch * 1000),
  });

  // Layers -------------------------------------------------------------------------------------
  const work = path.join(out, 'work');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const sbomFile = path.join(work, 'sbom.spdx.json');
  await writeFile(sbomFile, `${JSON.stringify(sbom, null, 2)}\n`);

  const nodeModules: LayerEntry[] = parentDirs(`${APP_DIR}/node_modules/x`);
  for (const { dir } of deps) {
    // The package's own nested node_modules holds other entries of the lock (walked on their own).
    nodeModules.push(...parentDirs(`${APP_DIR}/${dir}`));
    nodeModules.push(
      ...(await walk(path.join(repo, dir), {
        prefix: `${APP_DIR}/${dir}`,
        exclude: (rel, isDir) => (isDir && rel === 'node_modules') || prunedFromDependencies(rel, isDir),
      })),
    );
  }
  const fileEntry = async (source: string, inImage: string, mode = 0o644): Promise<LayerEntry> => ({
    path: inImage,
    type: 'file',
    mode,
    uid: 0,
    gid: 0,
    source,
    size: (await stat(source)).size,
  });
  const layerInputs: { name: string; createdBy: string; entries: () => Promise<LayerEntry[]> }[] = [
    {
      name: 'debian',
      createdBy: `scripts/image-base.sh: ${debian.map((d) => `${d.name}=${d.version}`).join(' ')}`,
      entries: () => walk(path.join(base, 'rootfs'), { prefix: '', keepOwnership: true }),
    },
    {
      name: 'node',
      createdBy: `node v${nodeVersion} (the node devDependency) as /${NODE_PATH}`,
      entries: async () => [...parentDirs(NODE_PATH), await fileEntry(nodeBin, NODE_PATH, 0o755)],
    },
    {
      name: 'kustomize',
      createdBy: `kustomize ${kustomizeVersion} as /${KUSTOMIZE_PATH}`,
      entries: async () => [
        ...parentDirs(KUSTOMIZE_PATH),
        await fileEntry(kustomizeBin, KUSTOMIZE_PATH, 0o755),
      ],
    },
    {
      name: 'npm-dependencies',
      createdBy: `${deps.length} production packages of package-lock.json in /${APP_DIR}/node_modules`,
      entries: async () => dedupeDirs(nodeModules),
    },
    {
      name: 'app',
      createdBy: `${pkgJson.name} ${pkgJson.version} (${revision}): /${APP_DIR}/{package.json,bin,config,dist}, /${SBOM_PATH}`,
      entries: async () => [
        { path: APP_DIR, type: 'dir', mode: 0o755, uid: 0, gid: 0 },
        await fileEntry(path.join(repo, 'package.json'), `${APP_DIR}/package.json`),
        await fileEntry(sbomFile, SBOM_PATH),
        ...(await walk(path.join(repo, 'bin'), { prefix: `${APP_DIR}/bin` })),
        ...(await walk(path.join(repo, 'config'), { prefix: `${APP_DIR}/config` })),
        ...(await distEntries(repo)),
      ],
    },
  ];

  const layout = path.join(out, 'oci');
  const blobs = path.join(layout, 'blobs/sha256');
  const cacheDir = path.join(out, 'layer-cache');
  await mkdir(blobs, { recursive: true });
  await mkdir(cacheDir, { recursive: true });
  const layers: BuiltLayer[] = [];
  for (const input of layerInputs) {
    const entries = await input.entries();
    const tarPath = path.join(work, `${input.name}.tar`);
    const tar = writeTar(entries, tarPath);
    // The gzip of a tar already compressed into this output directory is reused (same diff_id).
    const cacheFile = path.join(cacheDir, `${tar.diffId.slice('sha256:'.length)}.json`);
    let blob = existsSync(cacheFile)
      ? (JSON.parse(await readFile(cacheFile, 'utf8')) as { digest: string; size: number })
      : undefined;
    const cached = !!blob && existsSync(path.join(blobs, blob.digest.slice('sha256:'.length)));
    if (!cached) {
      const gz = path.join(work, `${input.name}.tar.gz`);
      blob = await gzipFile(tarPath, gz);
      await copyFile(gz, path.join(blobs, blob.digest.slice('sha256:'.length)));
      await writeFile(cacheFile, JSON.stringify(blob));
    }
    if (opts.layerTrees) {
      const tree = path.join(opts.layerTrees, input.name);
      await rm(tree, { recursive: true, force: true });
      await mkdir(tree, { recursive: true });
      execFileSync('tar', ['-xpf', tarPath, '--same-owner', '-C', tree]);
    }
    await rm(tarPath);
    layers.push({
      name: input.name,
      digest: blob!.digest,
      size: blob!.size,
      diffId: tar.diffId,
      uncompressedSize: tar.size,
      entries: entries.length,
      cached,
    });
  }

  // Config, manifest, index --------------------------------------------------------------------
  const labels = {
    'org.opencontainers.image.title': pkgJson.name,
    'org.opencontainers.image.description': pkgJson.description,
    'org.opencontainers.image.source': chart.home,
    'org.opencontainers.image.url': chart.home,
    'org.opencontainers.image.version': pkgJson.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.licenses': pkgJson.license,
  };
  const config = {
    created,
    architecture: arch,
    os: 'linux',
    config: {
      User: USER,
      ExposedPorts: { [`${EXPOSED_PORT}/tcp`]: {} },
      Env: IMAGE_ENV,
      Entrypoint: ENTRYPOINT,
      WorkingDir: `/${APP_DIR}`,
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layerInputs.map((l) => ({ created, created_by: l.createdBy })),
  };
  const putJson = async (value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = sha256(bytes);
    await writeFile(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const configBlob = await putJson(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: l.digest,
      size: l.size,
    })),
    annotations: labels,
  };
  const manifestBlob = await putJson(manifest);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifestBlob,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(path.join(layout, 'index.json'), JSON.stringify(index));
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  // Blobs of earlier builds that this image does not use.
  const used = new Set([configBlob, manifestBlob, ...layers].map((b) => b.digest.slice('sha256:'.length)));
  for (const f of await readdir(blobs)) if (!used.has(f)) await rm(path.join(blobs, f));

  // docker-archive (for `docker load`), written by skopeo from the layout.
  const archive = path.join(out, `${IMAGE_NAME}.tar`);
  await rm(archive, { force: true });
  if (opts.archive !== false) {
    execFileSync(
      'skopeo',
      ['copy', '--quiet', `oci:${layout}:${tag}`, `docker-archive:${archive}:${IMAGE_NAME}:${tag}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
  await copyFile(sbomFile, path.join(out, 'sbom.spdx.json'));
  await rm(work, { recursive: true, force: true });

  const built: BuiltImage = {
    digest: manifestBlob.digest,
    tag,
    layers,
    configDigest: configBlob.digest,
    layout: 'oci',
    archive: opts.archive !== false ? `${IMAGE_NAME}.tar` : '',
  };
  await writeFile(path.join(out, 'image.json'), `${JSON.stringify(built, null, 2)}\n`);
  return built;
}

/** Parent directories are added once per package: keep the first of each path. */
function dedupeDirs(entries: LayerEntry[]): LayerEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    if (e.type !== 'dir') return true;
    if (seen.has(e.path)) return false;
    seen.add(e.path);
    return true;
  });
}
