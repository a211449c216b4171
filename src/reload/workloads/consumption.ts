/**
 * Consumption analysis (docs/hot-reload.md, "Automatic workload reload"): how a pod template uses
 * the Kubernetes Secrets an SMC writes, and so what a change to one of their keys needs.
 *
 * - `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`, and a Secret volume mounted with `subPath`
 *   (or `subPathExpr`) are read once, at container start: a change needs a **restart**.
 * - A Secret volume, or a projected volume's Secret source, mounted without `subPath` is updated in
 *   place by the kubelet (the atomic `..data` swap): the change arrives **live**.
 *
 * Pure: takes a pod spec and Secret names, returns data. Names and key names only, never a value.
 */

export type ConsumptionAction = 'restart' | 'live';

/** One use of a Secret by a pod template. */
export interface Consumption {
  secret: string;
  /** The keys this use reads; `undefined`: every key of the Secret (envFrom, a volume without `items`). */
  keys: readonly string[] | undefined;
  action: ConsumptionAction;
  /** Value-free, for Events and status: `env var DB_PASSWORD`, `subPath mount /etc/app/key`. */
  reason: string;
}

/** The parts of a pod spec the analysis reads (a subset of `V1PodSpec`). */
export interface PodSpecLike {
  containers?: readonly ContainerLike[];
  initContainers?: readonly ContainerLike[];
  volumes?: readonly VolumeLike[];
}

export interface ContainerLike {
  name?: string;
  env?: readonly {
    name: string;
    valueFrom?: { secretKeyRef?: { name?: string; key: string } };
  }[];
  envFrom?: readonly { prefix?: string; secretRef?: { name?: string } }[];
  volumeMounts?: readonly { name: string; mountPath: string; subPath?: string; subPathExpr?: string }[];
}

interface KeyToPath {
  key: string;
  path: string;
}

export interface VolumeLike {
  name: string;
  secret?: { secretName?: string; items?: readonly KeyToPath[] };
  projected?: { sources?: readonly { secret?: { name?: string; items?: readonly KeyToPath[] } }[] };
}

/** One Secret source of a volume: which Secret, and which keys land at which path (all when no items). */
interface VolumeSecret {
  secret: string;
  items: readonly KeyToPath[] | undefined;
}

function volumeSecrets(v: VolumeLike): VolumeSecret[] {
  const out: VolumeSecret[] = [];
  if (v.secret?.secretName) out.push({ secret: v.secret.secretName, items: v.secret.items });
  for (const s of v.projected?.sources ?? [])
    if (s.secret?.name) out.push({ secret: s.secret.name, items: s.secret.items });
  return out;
}

/**
 * The keys a `subPath` of a Secret volume reads: the item whose path is the subPath or contains it
 * (a directory of items), else, without items, the key named by the subPath's first segment.
 */
function subPathKeys(src: VolumeSecret, subPath: string): string[] {
  const p = subPath.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (src.items) {
    return src.items
      .filter((i) => {
        const path = i.path.replace(/^\.\/+/, '');
        return path === p || path.startsWith(`${p}/`) || p.startsWith(`${path}/`);
      })
      .map((i) => i.key);
  }
  return [p.split('/')[0]!];
}

/**
 * Every use of the Secrets in `secrets` by a pod spec (containers and init containers), in template
 * order. A Secret volume that no container mounts is not a use.
 */
export function classifyConsumption(
  spec: PodSpecLike | undefined,
  secrets: ReadonlySet<string>,
): Consumption[] {
  const out: Consumption[] = [];
  if (!spec) return out;
  const volumes = new Map<string, VolumeSecret[]>();
  for (const v of spec.volumes ?? []) {
    const srcs = volumeSecrets(v).filter((s) => secrets.has(s.secret));
    if (srcs.length) volumes.set(v.name, srcs);
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref?.name && secrets.has(ref.name))
        out.push({ secret: ref.name, keys: [ref.key], action: 'restart', reason: `env var ${e.name}` });
    }
    for (const f of c.envFrom ?? []) {
      const name = f.secretRef?.name;
      if (name && secrets.has(name))
        out.push({ secret: name, keys: undefined, action: 'restart', reason: `envFrom Secret ${name}` });
    }
    for (const m of c.volumeMounts ?? []) {
      const srcs = volumes.get(m.name);
      if (!srcs) continue;
      for (const src of srcs) {
        if (m.subPathExpr) {
          // Expanded from the pod's environment at start: which key it names is unknown here.
          out.push({
            secret: src.secret,
            keys: undefined,
            action: 'restart',
            reason: `subPathExpr mount ${m.mountPath}`,
          });
        } else if (m.subPath) {
          const keys = subPathKeys(src, m.subPath);
          if (keys.length)
            out.push({ secret: src.secret, keys, action: 'restart', reason: `subPath mount ${m.mountPath}` });
        } else {
          out.push({
            secret: src.secret,
            keys: src.items?.map((i) => i.key),
            action: 'live',
            reason: `volume mount ${m.mountPath}`,
          });
        }
      }
    }
  }
  return out;
}

/** What one change-set asks of a workload: the uses of a changed key, by action (reasons deduplicated). */
export interface ConsumptionVerdict {
  restart: string[];
  live: string[];
}

/**
 * The uses in `uses` that read a changed key: `changed` maps a Secret to its changed key names.
 * A use of a Secret none of whose read keys changed asks nothing.
 */
export function affectedBy(
  uses: readonly Consumption[],
  changed: ReadonlyMap<string, ReadonlySet<string>>,
): ConsumptionVerdict {
  const restart = new Set<string>();
  const live = new Set<string>();
  for (const u of uses) {
    const keys = changed.get(u.secret);
    if (!keys || keys.size === 0) continue;
    const hit = u.keys === undefined ? [...keys] : u.keys.filter((k) => keys.has(k));
    if (hit.length === 0) continue;
    // A use of one key names it already; a use of several says which of them changed.
    const reason = u.keys?.length === 1 ? u.reason : `${u.reason} (${hit.sort().join(', ')})`;
    (u.action === 'restart' ? restart : live).add(reason);
  }
  return { restart: [...restart], live: [...live] };
}
