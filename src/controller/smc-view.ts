/**
 * What the controller reads of a SecretManagerConfig outside a reconcile (docs/architecture.md,
 * "The controller"): which source it follows, which Secrets it reads, its logging and tracing
 * settings, its shard. Read once per object the informer delivers. The reading is lenient, with
 * each field's default: a spec the reconcile will refuse (it validates with `parseSpec`) still
 * routes its events, and is reported by that reconcile.
 */
import type { KubernetesObject } from '../kube/client-node.js';
import { LABELS } from '../api/index.js';
import type { OtelDestination } from '../observability/tracing.js';
import { DEFAULT_SOPS_SECRET } from './keys.js';
import type { SmcObject } from './reconcile.js';
import { credentialSecretsOf } from './stores.js';

/** An SMC as the informer holds it. */
export type SmcResource = KubernetesObject & SmcObject;

/** The areas of the Secrets an SMC reads (an area names the log lines about a change of one). */
export type SecretArea = 'sops' | 'git' | 'provider';

export interface SmcView {
  /** `namespace/name`: the work-queue key. */
  key: string;
  /** `spec.sourceRef` with its defaults: kind `GitRepository`, the SMC's namespace; name '' when absent. */
  source: { kind: string; namespace: string; name: string };
  /** `kind/namespace/name` of that source: SMCs with the same key follow the same source. */
  sourceKey: string;
  /** `spec.sourceRef.gitCredentials` as written (Argo CD sources). */
  gitCredentials: { name: string; namespace?: string } | undefined;
  /**
   * `namespace/name` of each Secret the SMC reads: its SOPS key Secrets (the controller-wide key
   * when it names none), its Git credentials, its store credentials.
   */
  secrets: Record<SecretArea, string[]>;
  /** `spec.logging` as written (the logger keeps its valid levels). */
  logging: unknown;
  /** `spec.otel`. */
  otel: OtelDestination | undefined;
  /** The shard label's value, as written (a replica's shard is `shard_key`; no label is shard ''). */
  shard: string | undefined;
}

interface LooseRef {
  name?: unknown;
  namespace?: unknown;
}

interface LooseSpec {
  sourceRef?: { kind?: unknown; name?: unknown; namespace?: unknown; gitCredentials?: LooseRef };
  secrets?: { sops?: { ageSecretRef?: LooseRef; gpgSecretRef?: LooseRef } };
  logging?: unknown;
  otel?: OtelDestination;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `namespace/name` of a Secret reference, its namespace defaulting to the SMC's. */
function secretOf(ref: LooseRef | undefined, namespace: string): string[] {
  const name = str(ref?.name);
  return name === undefined ? [] : [`${str(ref?.namespace) ?? namespace}/${name}`];
}

/** Read the view of `smc`; the controller-wide SOPS key lives in `controllerNamespace`. */
export function readSmcView(smc: SmcResource, controllerNamespace: string): SmcView {
  const { namespace, name } = smc.metadata;
  const spec = (smc.spec ?? {}) as LooseSpec;
  const ref = spec.sourceRef;
  const source = {
    kind: str(ref?.kind) ?? 'GitRepository',
    namespace: str(ref?.namespace) ?? namespace,
    name: str(ref?.name) ?? '',
  };
  const sops = spec.secrets?.sops;
  const keys = [...secretOf(sops?.ageSecretRef, namespace), ...secretOf(sops?.gpgSecretRef, namespace)];
  const gitCredentials = ref?.gitCredentials;
  return {
    key: `${namespace}/${name}`,
    source,
    sourceKey: `${source.kind}/${source.namespace}/${source.name}`,
    gitCredentials:
      typeof gitCredentials?.name === 'string'
        ? (gitCredentials as { name: string; namespace?: string })
        : undefined,
    secrets: {
      sops: keys.length > 0 ? keys : [`${controllerNamespace}/${DEFAULT_SOPS_SECRET}`],
      git: secretOf(gitCredentials, namespace),
      provider: credentialSecretsOf(smc),
    },
    logging: spec.logging,
    otel: spec.otel,
    shard: smc.metadata.labels?.[LABELS.shardKey],
  };
}

/** The views of the informer's objects, each read once (an update delivers a new object). */
export class SmcViews {
  private readonly views = new WeakMap<SmcResource, SmcView>();

  constructor(private readonly controllerNamespace: string) {}

  of(smc: SmcResource): SmcView {
    let view = this.views.get(smc);
    if (!view) {
      view = readSmcView(smc, this.controllerNamespace);
      this.views.set(smc, view);
    }
    return view;
  }
}
