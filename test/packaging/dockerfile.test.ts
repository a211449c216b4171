/**
 * The Dockerfile, checked without a container engine (none is available here, so `docker build`
 * is not run in CI; test/packaging/image.kube.test.ts builds and runs the same layout with
 * `npm run image`): the Node build stage's major equals the `node` devDependency's, the base is
 * made by scripts/image-base.sh and the layers by scripts/image.ts, the final stage copies them in
 * the order of scripts/image-build.ts onto `scratch` with the same user, environment, entrypoint
 * and port, every COPY source exists and is not excluded by .dockerignore, and every
 * `COPY --from` names an earlier stage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/controller/settings.js';
import { ENTRYPOINT, EXPOSED_PORT, IMAGE_ENV, LAYER_NAMES, USER } from '../../scripts/image-build.js';
import { repoRoot } from '../peers.js';

interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, … */
  cmd: string;
  args: string;
  /** Index of the build stage (FROM) this instruction belongs to. */
  stage: number;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  if (pending) logical.push(pending.trim());
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s+(.*)$/s.exec(l);
    if (!m) throw new Error(`unparsable Dockerfile line: ${l}`);
    const cmd = m[1]!.toUpperCase();
    const args = m[2]!;
    if (cmd === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`unparsable FROM: ${args}`);
      stages.push({ image: f[1]!, name: f[2], instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage && cmd !== 'ARG') throw new Error(`${cmd} before the first FROM`);
      stage?.instructions.push({ cmd, args, stage: stages.length - 1 });
    }
  }
  return stages;
}

/** .dockerignore patterns → a predicate "is this context path excluded" (Go filepath.Match + `**`). */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = pattern
        .split(/(\*\*|\*|\?)/)
        .map((part) =>
          part === '**'
            ? '.*'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.replace(/^\.\/|\/+$/g, '').split('/');
    // A path is excluded when it, or a directory above it, matches the last matching rule.
    let excluded = false;
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join('/'))) excluded = !rule.negate;
      }
    }
    return excluded;
  };
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages.at(-1)!;
const all = stages.flatMap((s) => s.instructions);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  bin: Record<string, string>;
};

/** `COPY [--from=x] [--chown=…] src… dest` → { from, sources, dest }. */
function copyParts(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

describe('Dockerfile', () => {
  it('parses into the expected stages', () => {
    expect(stages.map((s) => s.name ?? '(final)')).toEqual(['base', 'kustomize', 'build', '(final)']);
  });

  it('builds with the Node major of the `node` devDependency (slim); the image itself is FROM scratch', () => {
    const major = /(\d+)/.exec(pkg.devDependencies.node!)![1];
    const nodeStages = stages.filter((s) => s.image.startsWith('node:'));
    expect(nodeStages.map((s) => s.name)).toEqual(['build']);
    expect(nodeStages[0]!.image).toMatch(new RegExp(`^node:${major}(\\.[0-9.]+)?-[a-z]+-slim$`));
    // Node 24 is an LTS line (even major).
    expect(Number(major) % 2).toBe(0);
    // The image's node is the devDependency's binary, laid out by scripts/image.ts, not the stage's.
    expect(final.image).toBe('scratch');
  });

  it('makes the base with scripts/image-base.sh and the layers with scripts/image.ts', () => {
    const base = stages.find((s) => s.name === 'base')!;
    expect(base.image).toMatch(/^debian:bookworm/);
    expect(base.instructions.some((i) => i.cmd === 'RUN' && /\bmmdebstrap\b/.test(i.args))).toBe(true);
    expect(base.instructions.some((i) => i.cmd === 'RUN' && /^image-base\.sh \/base$/.test(i.args))).toBe(
      true,
    );
    const build = stages.find((s) => s.name === 'build')!;
    const layout = build.instructions.find((i) => i.cmd === 'RUN' && i.args.includes('scripts/image.ts'));
    expect(layout?.args).toMatch(/--base \/base .*--layer-trees \/layers/);
    // The final stage: the base's rootfs, then each layer tree, in scripts/image-build.ts' order.
    const copies = final.instructions.filter((i) => i.cmd === 'COPY').map((i) => copyParts(i.args));
    expect(copies.map((c) => `${c.from}:${c.sources.join(',')}->${c.dest}`)).toEqual([
      'base:/base/rootfs/->/',
      ...LAYER_NAMES.slice(1).map((l) => `build:/layers/${l}/->/`),
    ]);
  });

  it('builds the kustomize version the test peers pin (scripts/peers.d/kustomize.sh) and ships it', () => {
    const pinned = execFileSync('bash', ['-c', 'source scripts/peers.d/kustomize.sh && kustomize_version'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    expect(pinned).toMatch(/^v\d+\.\d+\.\d+$/);
    const stage = stages.find((s) => s.name === 'kustomize')!;
    expect(stage.image).toMatch(/^golang:/);
    const arg = stage.instructions.find((i) => i.cmd === 'ARG' && i.args.startsWith('KUSTOMIZE_VERSION='));
    expect(arg?.args).toBe(`KUSTOMIZE_VERSION=${pinned}`);
    const run = stage.instructions.find((i) => i.cmd === 'RUN' && i.args.includes('go install'));
    expect(run?.args).toContain(
      `sigs.k8s.io/kustomize/kustomize/v${pinned.slice(1).split('.')[0]}@\${KUSTOMIZE_VERSION}`,
    );
    const build = stages.find((s) => s.name === 'build')!;
    const copy = build.instructions.find((i) => i.cmd === 'COPY' && i.args.includes('--from=kustomize'));
    expect(copyParts(copy!.args).dest).toBe('/kustomize');
    expect(
      build.instructions.find((i) => i.cmd === 'RUN' && i.args.includes('scripts/image.ts'))?.args,
    ).toContain('--kustomize /kustomize');
  });

  it('copies only sources that exist and that .dockerignore keeps in the context', () => {
    const ignored = dockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
    const copies = all.filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD');
    const local = copies.map((i) => copyParts(i.args)).filter((c) => c.from === undefined);
    expect(local.length).toBeGreaterThan(0);
    for (const { sources } of local) {
      for (const src of sources) {
        expect(existsSync(join(repoRoot, src)), `${src} exists`).toBe(true);
        expect(ignored(src), `${src} is not excluded by .dockerignore`).toBe(false);
      }
    }
    // The matcher itself: what the context must leave out is left out.
    for (const p of [
      'node_modules/x',
      '.git/HEAD',
      'dist/index.js',
      'test/packaging/x.ts',
      'scripts/gen-crd.ts',
    ]) {
      expect(ignored(p), p).toBe(true);
    }
    for (const p of [
      'scripts/image-build.ts',
      'scripts/image-base.sh',
      'charts/secret-manager-controller/Chart.yaml',
    ]) {
      expect(ignored(p), p).toBe(false);
    }
  });

  it('takes COPY --from only from an earlier stage', () => {
    stages.forEach((stage, index) => {
      for (const i of stage.instructions.filter((x) => x.cmd === 'COPY')) {
        const { from } = copyParts(i.args);
        if (from === undefined) continue;
        const earlier = stages.slice(0, index).map((s) => s.name);
        expect(earlier, `COPY --from=${from}`).toContain(from);
      }
    });
  });

  it('compiles with the build tsconfig (`prepare`, run by npm ci) before laying out the layers', () => {
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.prepare).toBe('tsc -p tsconfig.build.json');
    const build = stages.find((s) => s.name === 'build')!;
    const ci = build.instructions.findIndex((i) => i.cmd === 'RUN' && /npm ci\b/.test(i.args));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(build.instructions[ci]!.args).not.toContain('--ignore-scripts'); // the node binary and prepare
    const layout = build.instructions.findIndex(
      (i) => i.cmd === 'RUN' && i.args.includes('scripts/image.ts'),
    );
    expect(layout).toBeGreaterThan(ci);
  });

  it('runs as the non-root uid the Deployment uses', () => {
    const users = final.instructions.filter((i) => i.cmd === 'USER');
    const user = users.at(-1)?.args;
    expect(user).toMatch(/^\d+(:\d+)?$/); // numeric, so runAsNonRoot can verify it
    const [uid, gid] = user!.split(':').map(Number);
    expect(uid).not.toBe(0);
    const deployment = parse(readFileSync(join(repoRoot, 'config/manager/deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    };
    expect(uid).toBe(deployment.spec.template.spec.securityContext.runAsUser);
    expect(user).toBe(USER); // the same as npm run image's
    if (gid !== undefined) expect(gid).toBe(deployment.spec.template.spec.securityContext.runAsGroup);
    // Nothing runs after USER as another user.
    expect(
      final.instructions.slice(final.instructions.indexOf(users.at(-1)!)).some((i) => i.cmd === 'RUN'),
    ).toBe(false);
  });

  it('has the environment of npm run image’s config', () => {
    const env = final.instructions
      .filter((i) => i.cmd === 'ENV')
      .flatMap((i) => i.args.split(/\s+/))
      .filter(Boolean);
    expect(env).toEqual(IMAGE_ENV);
  });

  it('starts the controller binary, which the image contains, and exposes the metrics port', () => {
    const entry = final.instructions.filter((i) => i.cmd === 'ENTRYPOINT').at(-1);
    const argv = JSON.parse(entry!.args) as string[]; // exec form
    const bin = argv.at(-1)!;
    expect(bin).toBe(`/app/${pkg.bin['secret-manager-controller']}`);
    expect(existsSync(join(repoRoot, pkg.bin['secret-manager-controller']!))).toBe(true);
    expect(argv).toEqual(ENTRYPOINT);
    const build = stages.find((s) => s.name === 'build')!;
    const copied = build.instructions
      .filter((i) => i.cmd === 'COPY')
      .map((i) => copyParts(i.args))
      .flatMap((c) => c.sources.map((s) => ({ src: s, from: c.from })));
    expect(copied).toContainEqual({ src: 'bin', from: undefined });
    expect(copied).toContainEqual({ src: 'package.json', from: undefined });
    expect(final.instructions.find((i) => i.cmd === 'WORKDIR')?.args).toBe('/app');
    const expose = final.instructions.find((i) => i.cmd === 'EXPOSE');
    expect(Number(expose?.args)).toBe(defaultSettings().metrics_port);
    expect(EXPOSED_PORT).toBe(defaultSettings().metrics_port);
  });
});
