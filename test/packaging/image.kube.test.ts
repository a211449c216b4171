/**
 * The container image built with no container engine (`npm run image`, scripts/image.ts) and run
 * from its own root filesystem:
 * - two builds of this commit, into different directories at different times, give the same image
 *   digest and the same docker-archive bytes; skopeo reads the layout; the config, labels, layers
 *   and SBOM are what docs/packaging.md says, with no build-host path in them;
 * - the image unpacked by umoci, its entrypoint run with chroot as uid 65532 on a read-only root
 *   (proc, a minimal /dev and the Deployment's tmpfs volumes mounted in a private mount namespace,
 *   so nothing outlives the process), with the Deployment's arguments and environment from config/
 *   (and the chart's, checked equal), in-cluster credentials in the image's
 *   /var/run/secrets/kubernetes.io/serviceaccount: it reconciles an SMC to Ready on the real
 *   kube-apiserver from a Flux source, and another from an Argo CD Application whose private
 *   repository is on a Git smart-HTTP server on 127.0.0.1 (git and its `#!/bin/sh` askpass run
 *   inside the image); `msmctl --version`, `git --version` and `ssh -V` run from the image too, and
 *   git reaches ssh through GIT_SSH_COMMAND (no SSH server here: the connection is refused).
 * Needs root (chroot, mounts), as CI runs; the tools come from the image-tools peer.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { list as tarList } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { freePort } from '../peers/free-port.js';
import { type GitServer, createArgoApplication, startGitServer } from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { peerDir, peerPath, repoRoot } from '../peers.js';
import { waitFor } from '../e2e/controller-process.js';
import { type ExampleSource, setUpExampleSource } from '../e2e/example-source.js';
import { condition, smcClient } from '../e2e/smc.js';

const run = promisify(execFile);
const kube = useKube();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- image JSON and manifests are untyped
type Obj = Record<string, any>;

interface BuiltImage {
  digest: string;
  tag: string;
  configDigest: string;
  layers: {
    name: string;
    digest: string;
    diffId: string;
    size: number;
    uncompressedSize: number;
    cached: boolean;
  }[];
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Obj;
const chartHome = (
  parseYaml(readFileSync(join(repoRoot, 'charts/secret-manager-controller/Chart.yaml'), 'utf8')) as Obj
).home as string;

/** A host tool the test needs; a missing one fails, naming it and where it comes from. */
function tool(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `this test needs ${name} on PATH (util-linux / coreutils; the image tools: scripts/peers install image-tools)`,
    );
  }
}

let scratch: string;
let tools: {
  umoci: string;
  skopeo: string;
  registry: string;
  unshare: string;
  chroot: string;
  mount: string;
  sh: string;
};

/** A program of the image-tools peer besides its main one (umoci); missing: an error naming it. */
function imageTool(name: string): string {
  const p = join(peerDir('image-tools'), 'bin', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/peers install image-tools`);
  return p;
}
const build: Record<'a' | 'b', { out: string; image: BuiltImage; log: string }> = {} as never;

/** `tsx scripts/image.ts --out OUT` (what `npm run image` runs after compiling). */
async function buildImage(
  out: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ image: BuiltImage; log: string }> {
  const { SOURCE_DATE_EPOCH: _, SMC_IMAGE_REVISION: __, ...inherited } = process.env;
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'scripts/image.ts'), '--out', out, ...args],
    { cwd: repoRoot, env: { ...inherited, ...env }, maxBuffer: 16 << 20 },
  );
  return {
    image: JSON.parse(await readFile(join(out, 'image.json'), 'utf8')) as BuiltImage,
    log: stdout + stderr,
  };
}

const blobPath = (out: string, digest: string) =>
  join(out, 'oci/blobs/sha256', digest.replace(/^sha256:/, ''));
const readJsonBlob = async (out: string, digest: string) =>
  JSON.parse(await readFile(blobPath(out, digest), 'utf8')) as Obj;
const fileSha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

/** Every path in a layer blob (`tar` reads the gzip), without the trailing `/` of directories. */
/** Files with a setuid or setgid bit, as `path (mode)`, seen by layerPaths. */
const setuidEntries: string[] = [];

async function layerPaths(out: string, digest: string): Promise<string[]> {
  const paths: string[] = [];
  await tarList({
    file: blobPath(out, digest),
    onReadEntry: (e) => {
      // (A setgid directory, base-files' /var/local 2775, only sets new files' group.)
      if (e.type !== 'Directory' && (e.mode ?? 0) & 0o6000)
        setuidEntries.push(`${e.path} (${e.mode?.toString(8)})`);
      paths.push(e.path.replace(/\/$/, ''));
    },
  });
  return paths;
}

beforeAll(async () => {
  tools = {
    umoci: peerPath('image-tools'),
    skopeo: imageTool('skopeo'),
    registry: imageTool('docker-registry'),
    unshare: tool('unshare'),
    chroot: tool('chroot'),
    mount: tool('mount'),
    sh: tool('sh'),
  };
  if (process.getuid?.() !== 0)
    throw new Error('this test runs the image with chroot and mounts: it needs root');
  scratch = await mkdtemp(join(tmpdir(), 'smc-image-'));
  // Two independent builds (no shared layer cache), under different time zones and at different times.
  const a = join(scratch, 'build-a');
  const b = join(scratch, 'another/build-b');
  build.a = { out: a, ...(await buildImage(a, { TZ: 'UTC' })) };
  build.b = { out: b, ...(await buildImage(b, { TZ: 'Pacific/Kiritimati' })) };
  console.log(`image build A:\n${build.a.log}`);
}, 600_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('npm run image: the layout', () => {
  it('two builds of the same commit give the same image digest and docker-archive', async () => {
    expect(build.b.image.digest).toBe(build.a.image.digest);
    expect(build.b.image.layers).toEqual(build.a.image.layers);
    const index = JSON.parse(await readFile(join(build.a.out, 'oci/index.json'), 'utf8')) as Obj;
    expect(index.manifests[0].digest).toBe(build.a.image.digest);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe(pkg.version);
    expect(await fileSha(join(build.b.out, 'secret-manager-controller.tar'))).toBe(
      await fileSha(join(build.a.out, 'secret-manager-controller.tar')),
    );
  });

  it('the next commit (another time and revision) changes only the top layer; the others are reused', async () => {
    // Into build B's directory (its layer cache), which no later test reads.
    const next = await buildImage(
      build.b.out,
      { SOURCE_DATE_EPOCH: '1700000000', SMC_IMAGE_REVISION: 'f'.repeat(40) },
      ['--no-archive'],
    );
    const [a, b] = [build.a.image.layers, next.image.layers];
    expect(b.map((l) => l.name)).toEqual(a.map((l) => l.name));
    expect(b.slice(0, -1).map((l) => [l.digest, l.cached])).toEqual(
      a.slice(0, -1).map((l) => [l.digest, true]),
    );
    expect(b.at(-1)!.digest).not.toBe(a.at(-1)!.digest); // the SBOM names the revision
    expect(next.image.digest).not.toBe(build.a.image.digest);
  });

  it('skopeo reads it: non-root user, the controller as entrypoint, OCI labels', async () => {
    const { stdout } = await run(tools.skopeo, [
      'inspect',
      '--config',
      `oci:${join(build.a.out, 'oci')}:${pkg.version}`,
    ]);
    const config = JSON.parse(stdout) as Obj;
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual([
      '/usr/local/bin/node',
      '/app/bin/secret-manager-controller.js',
    ]);
    expect(config.config.ExposedPorts).toEqual({ '5000/tcp': {} });
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.source': chartHome,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.revision': execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], {
        encoding: 'utf8',
      }).trim(),
    });
    const commitTime = Number(
      execFileSync('git', ['-C', repoRoot, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }),
    );
    expect(Date.parse(config.created as string) / 1000).toBe(commitTime);
    // The docker-archive holds the same image (same config).
    const fromArchive = JSON.parse(
      (
        await run(tools.skopeo, [
          'inspect',
          '--config',
          `docker-archive:${join(build.a.out, 'secret-manager-controller.tar')}`,
        ])
      ).stdout,
    ) as Obj;
    expect(fromArchive.rootfs.diff_ids).toEqual(config.rootfs.diff_ids);
  });

  it('skopeo copy pushes the layout to a registry (the distribution registry, on 127.0.0.1) under its digest', async () => {
    const dir = join(scratch, 'registry');
    await mkdir(dir);
    const port = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(
      config,
      stringify({
        version: 0.1,
        log: { level: 'warn' },
        storage: { filesystem: { rootdirectory: join(dir, 'data') } },
        http: { addr: `127.0.0.1:${port}`, secret: 'test-only' },
      }),
    );
    const registry = spawn(tools.registry, ['serve', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    registry.stdout.on('data', (d: Buffer) => (log += d.toString()));
    registry.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise((r) => registry.once('exit', r));
    try {
      await waitFor(
        'the registry to answer /v2/',
        async () => ((await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200 ? true : undefined),
        { timeoutMs: 30_000, log: () => log },
      );
      const digestFile = join(dir, 'pushed-digest');
      await run(tools.skopeo, [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        '--digestfile',
        digestFile,
        `oci:${join(build.a.out, 'oci')}:${pkg.version}`,
        `docker://127.0.0.1:${port}/secret-manager-controller:${pkg.version}`,
      ]);
      expect((await readFile(digestFile, 'utf8')).trim()).toBe(build.a.image.digest);
      const res = await fetch(
        `http://127.0.0.1:${port}/v2/secret-manager-controller/manifests/${pkg.version}`,
        {
          method: 'HEAD',
          headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
        },
      );
      expect(res.headers.get('docker-content-digest')).toBe(build.a.image.digest);
    } finally {
      registry.kill('SIGTERM');
      await exited;
    }
  });

  it('no build-host path, user or host name in the config, manifest or SBOM', async () => {
    const manifest = await readJsonBlob(build.a.out, build.a.image.digest);
    const texts = [
      JSON.stringify(manifest),
      JSON.stringify(await readJsonBlob(build.a.out, manifest.config.digest)),
      await readFile(join(build.a.out, 'sbom.spdx.json'), 'utf8'),
    ];
    for (const hostThing of [repoRoot, scratch, homedir(), `"${hostname()}"`, peerDir('image-base')]) {
      for (const t of texts) expect(t).not.toContain(hostThing);
    }
  });

  it('the SBOM (SPDX) lists every production npm package and every Debian package, with purls', async () => {
    const sbom = JSON.parse(await readFile(join(build.a.out, 'sbom.spdx.json'), 'utf8')) as Obj;
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const purls = new Set((sbom.packages as Obj[]).map((p) => p.externalRefs[0].referenceLocator as string));
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as Obj;
    const npmPurl = (name: string, version: string) => `pkg:npm/${name.replace('@', '%40')}@${version}`;
    let prod = 0;
    for (const [dir, e] of Object.entries(lock.packages as Record<string, Obj>)) {
      if (!dir) continue;
      // An alias (`x-cjs@npm:x@1`) is installed under its alias; the lock and the SBOM name the package.
      const name =
        (e.name as string | undefined) ??
        dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (e.dev) expect(purls.has(npmPurl(name, e.version as string))).toBe(false);
      else if (!e.optional) {
        prod++;
        expect(purls, `${name}@${e.version as string}`).toContain(npmPurl(name, e.version as string));
      }
    }
    expect(prod).toBeGreaterThan(100);
    const debs = (await readFile(join(peerDir('image-base'), 'debian-packages.tsv'), 'utf8'))
      .trim()
      .split('\n');
    expect(debs.map((l) => l.split('\t')[0])).toEqual(
      expect.arrayContaining(['libc6', 'libstdc++6', 'libgcc-s1', 'ca-certificates', 'tzdata']),
    );
    for (const line of debs) {
      const [name, version, arch] = line.split('\t') as [string, string, string];
      const purl = `pkg:deb/debian/${encodeURIComponent(name)}@${encodeURIComponent(version)}?arch=${arch}&distro=debian-12`;
      expect(
        [...purls].filter((p) => p === purl || p.startsWith(`${purl}&`)),
        purl,
      ).toHaveLength(1);
    }
    const nodeVersion = (
      JSON.parse(await readFile(join(repoRoot, 'node_modules/node/package.json'), 'utf8')) as Obj
    ).version as string;
    expect(purls).toContain(`pkg:generic/node@${nodeVersion}`);
    expect(purls).toContain(`pkg:npm/${pkg.name as string}@${pkg.version as string}`);
  });

  it('five layers: Debian base, node, kustomize, npm dependencies, app; the code is only in the top one', async () => {
    const { layers } = build.a.image;
    expect(layers.map((l) => l.name)).toEqual(['debian', 'node', 'kustomize', 'npm-dependencies', 'app']);
    const [debian, node, kustomize, deps, app] = (await Promise.all(
      layers.map((l) => layerPaths(build.a.out, l.digest)),
    )) as [string[], string[], string[], string[], string[]];
    expect(kustomize).toEqual(['usr', 'usr/local', 'usr/local/bin', 'usr/local/bin/kustomize']);
    expect(setuidEntries).toEqual([]); // no setuid or setgid program anywhere in the image
    expect(debian).toContain('lib/x86_64-linux-gnu/libc.so.6');
    expect(debian).toContain('etc/ssl/certs/ca-certificates.crt');
    expect(debian).toContain('usr/share/zoneinfo/Europe/Paris');
    expect(debian.filter((p) => p.startsWith('app'))).toEqual([]);
    // What the Argo CD source runs: git, ssh, and dash as /bin/sh (GIT_SSH_COMMAND, the askpass
    // script); no other shell, no Perl, no ssh-keysign (setuid, host-based authentication only).
    expect(debian).toEqual(
      expect.arrayContaining([
        'usr/bin/git',
        'usr/lib/git-core/git-remote-https',
        'usr/bin/ssh',
        'bin/dash',
        'bin/sh',
      ]),
    );
    for (const absent of [
      'bin/bash',
      'usr/bin/bash',
      'usr/bin/perl',
      'usr/lib/openssh/ssh-keysign',
      'usr/bin/dpkg',
    ])
      expect(debian).not.toContain(absent);
    expect(debian.filter((p) => p.startsWith('usr/share/locale/') || p.startsWith('usr/share/man/'))).toEqual(
      [],
    );
    expect(node).toEqual(['usr', 'usr/local', 'usr/local/bin', 'usr/local/bin/node']);
    expect(deps.every((p) => p === 'app' || p.startsWith('app/node_modules'))).toBe(true);
    expect(deps).toContain('app/node_modules/@kubernetes/client-node/package.json');
    expect(deps.filter((p) => /\.(d\.ts|map)$/.test(p))).toEqual([]);
    expect(deps.some((p) => p.startsWith('app/node_modules/vitest'))).toBe(false); // dev dependency
    expect(app).toContain('app/dist/controller/entry.js');
    expect(app).toContain('app/bin/secret-manager-controller.js');
    expect(app).toContain('app/config/manager/deployment.yaml');
    expect(app).toContain('app/sbom.spdx.json');
    expect(
      app.filter((p) => p.includes('node_modules') || p.endsWith('.d.ts') || p.endsWith('.map')),
    ).toEqual([]);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const total = layers.reduce((s, l) => s + l.uncompressedSize, 0);
    console.log(
      `image size: ${mb(total)} MB uncompressed, ${mb(layers.reduce((s, l) => s + l.size, 0))} MB gzipped; ` +
        layers.map((l) => `${l.name} ${mb(l.uncompressedSize)}/${mb(l.size)} MB`).join(', '),
    );
  });
});

describe('the image run from its own root filesystem', () => {
  let rootfs: string;
  let config: Obj;
  let world: ExampleSource | undefined;
  let controller: ChildProcess | undefined;
  let controllerOut = '';
  let git: GitServer | undefined;
  /** The private Git server's password (a canary: it must appear in no log). */
  const GIT_PASSWORD = 'canary-image-git-pw-3c9e71d2';

  beforeAll(async () => {
    rootfs = join(scratch, 'rootfs');
    await run(tools.umoci, [
      'raw',
      'unpack',
      '--image',
      `${join(build.a.out, 'oci')}:${pkg.version}`,
      rootfs,
    ]);
    // The SBOM inside the image is the one written beside the layout.
    expect(await readFile(join(rootfs, 'app/sbom.spdx.json'), 'utf8')).toBe(
      await readFile(join(build.a.out, 'sbom.spdx.json'), 'utf8'),
    );
    config = JSON.parse(
      (await run(tools.skopeo, ['inspect', '--config', `oci:${join(build.a.out, 'oci')}:${pkg.version}`]))
        .stdout,
    ) as Obj;
  }, 300_000);

  afterAll(async () => {
    if (controller && controller.exitCode === null && controller.signalCode === null) {
      const exited = new Promise((r) => controller!.once('exit', r));
      controller.kill('SIGTERM');
      const t = setTimeout(() => controller!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    await world?.tearDown();
    await git?.stop();
    // The mounts lived in the controller's private mount namespace: none is left on this host.
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(scratch)).toBe(false);
  });

  const imageEnv = (): Record<string, string> =>
    Object.fromEntries(
      (config.config.Env as string[]).map((kv) => [
        kv.slice(0, kv.indexOf('=')),
        kv.slice(kv.indexOf('=') + 1),
      ]),
    );

  /**
   * `chroot --userspec=<image user> ROOTFS COMMAND…` in a private mount namespace: the root
   * filesystem bound read-only onto itself, then proc, a tmpfs /dev with the usual device nodes
   * bound in, and `tmpfs` mounts (mount point → options) on top.
   */
  function runInImage(
    command: string[],
    env: Record<string, string>,
    tmpfs: Record<string, string> = {},
  ): ChildProcess {
    const mounts = [
      'R=$1; shift',
      `${tools.mount} --bind "$R" "$R"`,
      `${tools.mount} -o remount,bind,ro "$R"`,
      `${tools.mount} -t proc proc "$R/proc"`,
      `${tools.mount} -t tmpfs -o mode=0755,size=1m dev "$R/dev"`,
      ...['null', 'zero', 'full', 'random', 'urandom'].flatMap((d) => [
        `: > "$R/dev/${d}"`,
        `${tools.mount} --bind /dev/${d} "$R/dev/${d}"`,
      ]),
      ...Object.entries(tmpfs).map(([at, opts]) => `${tools.mount} -t tmpfs -o ${opts} tmpfs "$R${at}"`),
      `exec ${tools.chroot} --userspec=${config.config.User} "$R" "$@"`,
    ];
    return spawn(
      tools.unshare,
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        tools.sh,
        '-euc',
        mounts.join('\n'),
        'image',
        rootfs,
        ...command,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  /** Runs COMMAND in the image as its user (the image's environment plus `env`); exit code and output. */
  async function runToEnd(
    command: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: unknown; out: string }> {
    const child = runInImage(command, { ...imageEnv(), ...env });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    return { code, out: out.trim() };
  }

  it('msmctl --version runs from the image', async () => {
    expect(await runToEnd(['/usr/local/bin/node', '/app/bin/msmctl.js', '--version'])).toEqual({
      code: 0,
      out: pkg.version,
    });
  });

  it('git and ssh (the Argo CD source) run from the image; git runs ssh through GIT_SSH_COMMAND and /bin/sh', async () => {
    const gitVersion = await runToEnd(['/usr/bin/git', '--version']);
    expect(gitVersion).toMatchObject({ code: 0, out: expect.stringMatching(/^git version 2\.\d+/) });
    const sshVersion = await runToEnd(['/usr/bin/ssh', '-V']);
    expect(sshVersion).toMatchObject({ code: 0, out: expect.stringMatching(/^OpenSSH_\d/) });
    // No SSH server in this suite: a port nothing listens on. The refusal comes from ssh, which git
    // ran through /bin/sh (a GIT_SSH_COMMAND with arguments is a shell command), as the image's user.
    const port = await freePort();
    const lsRemote = await runToEnd(['/usr/bin/git', 'ls-remote', `ssh://git@127.0.0.1:${port}/config.git`], {
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes',
    });
    expect(lsRemote.code).toBe(128);
    expect(lsRemote.out).toContain(`ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
  });

  it('kustomize (kustomize-mode rendering) runs from the image, the version the tests pin', async () => {
    const pinned = execFileSync(peerPath('kustomize'), ['version'], { encoding: 'utf8' }).trim();
    expect(await runToEnd(['/usr/local/bin/kustomize', 'version'])).toEqual({ code: 0, out: pinned });
  });

  it('the entrypoint, with the Deployment’s arguments, reconciles an SMC to Ready on the apiserver', async () => {
    // The Deployment's container: config/manager/deployment.yaml, and the chart's the same.
    const container = (
      parseYaml(await readFile(join(repoRoot, 'config/manager/deployment.yaml'), 'utf8')) as Obj
    ).spec.template.spec.containers[0] as Obj;
    const helmHome = join(scratch, 'helm');
    const rendered = parseAllDocuments(
      (
        await run(
          peerPath('helm'),
          ['template', 'secret-manager-controller', join(repoRoot, 'charts/secret-manager-controller')],
          {
            env: {
              ...process.env,
              HELM_CACHE_HOME: join(helmHome, 'c'),
              HELM_CONFIG_HOME: join(helmHome, 'f'),
              HELM_DATA_HOME: join(helmHome, 'd'),
            },
            maxBuffer: 64 << 20,
          },
        )
      ).stdout,
    ).map((d) => d.toJS() as Obj | null);
    const chartContainer = rendered.find((o) => o?.kind === 'Deployment')!.spec.template.spec
      .containers[0] as Obj;
    expect(chartContainer.args).toEqual(container.args);
    expect(chartContainer.env).toEqual(container.env);
    const volumes = Object.fromEntries(
      (container.volumeMounts as Obj[]).map((m) => [m.mountPath as string, m.name as string]),
    );

    world = await setUpExampleSource(kube(), 'image');
    const ns = world.namespace;
    const access = await kube().serviceAccountKubeconfig(ns, 'secret-manager-controller');
    // In-cluster credentials where the kubelet mounts them (the image's /var/run is a directory).
    expect((await lstat(join(rootfs, 'var/run'))).isDirectory()).toBe(true);
    const sa = join(rootfs, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), access.token);
    await writeFile(join(sa, 'ca.crt'), kube().caPem);
    await writeFile(join(sa, 'namespace'), ns);
    for (const f of await readdir(sa)) await chmod(join(sa, f), 0o644);
    for (const at of Object.keys(volumes)) await mkdir(join(rootfs, at), { recursive: true });

    const env: Record<string, string> = { ...imageEnv() };
    for (const e of container.env as Obj[]) {
      if (e.value !== undefined) env[e.name as string] = String(e.value);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name as string] = ns;
      else throw new Error(`the test does not know how to set ${e.name as string}`);
    }
    const apiserver = new URL(kube().server);
    const port = await freePort();
    Object.assign(env, {
      KUBERNETES_SERVICE_HOST: apiserver.hostname,
      KUBERNETES_SERVICE_PORT: apiserver.port,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(port),
      SMC_GCP_SECRET_MANAGER_ENDPOINT: world.controllerEnv.SMC_GCP_SECRET_MANAGER_ENDPOINT!,
      METADATA_SERVER_DETECTION: 'none',
      WATCH_NAMESPACES: ns,
    });
    const command = [...(config.config.Entrypoint as string[]), ...(container.args as string[])];
    controller = runInImage(command, env, {
      // The Deployment's emptyDirs, writable by its fsGroup.
      ...Object.fromEntries(Object.keys(volumes).map((at) => [at, 'mode=1770,uid=0,gid=65532,size=128m'])),
    });
    controller.stdout!.on('data', (d: Buffer) => (controllerOut += d.toString()));
    controller.stderr!.on('data', (d: Buffer) => (controllerOut += d.toString()));
    const log = () => controllerOut.slice(-6000);

    await waitFor(
      'the controller from the image to answer /readyz',
      async () => {
        if (controller!.exitCode !== null) throw new Error(`controller exited with ${controller!.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, log },
    );
    const smcs = smcClient(kube, ns, log);
    const project = world.gcp.newProject();
    await smcs.create('from-image', world.spec(project));
    const status = await smcs.waitStatus(
      'from-image',
      (s) => condition(s, 'Ready')?.status === 'True',
      60_000,
    );
    expect(status.secretsCount).toBeGreaterThan(0);
    expect((await world.gcpSecretNames(project)).length).toBe(status.entries?.length);

    // An Argo CD source: the Application's private repository, read with a gitCredentials Secret
    // (git runs in the image, the password handed over by its `#!/bin/sh` askpass script).
    git = await startGitServer({ auth: { username: 'smc-reader', password: GIT_PASSWORD } });
    const repo = await git.createRepo('config', {
      'config/payments/deployment-configuration/profiles/dev/application.secrets.env':
        'API_KEY=from-argo-1\nDB_USER=payments\n',
    });
    await kube()
      .client(CoreV1Api)
      .createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: { name: 'git-creds' },
          stringData: { username: 'smc-reader', password: GIT_PASSWORD },
        },
      });
    await createArgoApplication(kube(), ns, 'payments', { repoURL: repo.url, path: 'config' });
    const argoProject = world.gcp.newProject();
    await smcs.create('from-argo', {
      sourceRef: { kind: 'Application', name: 'payments', gitCredentials: { name: 'git-creds' } },
      provider: { gcp: { projectId: argoProject } },
      secrets: { environment: 'dev', allowPlaintext: true }, // a plain fixture
    });
    const argoStatus = await smcs.waitStatus(
      'from-argo',
      (s) => condition(s, 'Ready')?.status === 'True',
      60_000,
    );
    expect(argoStatus.lastSyncedRevision).toBe(await repo.head());
    expect(await world.gcpValue(argoProject, 'payments-API_KEY')).toBe('from-argo-1');
    expect(await world.gcpValue(argoProject, 'payments-DB_USER')).toBe('payments');
    // The fetch went through the server's authentication (an unauthenticated request is answered 401).
    expect(git.requests).toContain('GET /config.git/info/refs?service=git-upload-pack 200');
    // It runs as the image's user (the node process itself: unshare, sh and chroot exec'd into it),
    // and holds the Lease of the Deployment's --leader-elect.
    const procStatus = await readFile(`/proc/${controller.pid}/status`, 'utf8');
    const argv = (await readFile(`/proc/${controller.pid}/cmdline`, 'utf8')).split('\0');
    expect(argv.slice(0, 3)).toEqual(command.slice(0, 3));
    expect(procStatus).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    const lease = await kube()
      .client(CoordinationV1Api)
      .readNamespacedLease({ namespace: ns, name: 'secret-manager-controller-leader' });
    expect(lease.spec?.holderIdentity).toBeTruthy();
    const exited = new Promise<number | null>((r) => controller!.once('exit', (code) => r(code)));
    controller.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(controllerOut).not.toContain(GIT_PASSWORD);
  }, 240_000); // two SMCs, each waited for up to 60 s with its status in the error
});
