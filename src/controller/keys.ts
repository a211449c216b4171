/**
 * SOPS keys of one SMC (docs/sops.md, docs/security.md "Tenant isolation defaults"): its
 * `ageSecretRef` / `gpgSecretRef`, else the controller-wide `sops-keys` Secret in the controller
 * namespace — which only SMCs in the namespaces listed in `controller_key_namespaces` may use
 * (default: the controller's own), whether they name it or fall back to it. A key Secret in another
 * namespace is refused under `no_cross_namespace_refs` (default true). A refusal is `AccessDenied`
 * naming the setting. Material that does not parse is reported naming the Secret and key.
 *
 * A key Secret read is reused for `keySecretCacheMs` (the controller: `secret_poll_interval`), so
 * a fleet of SMCs sharing one key Secret reads it once, not once per reconcile; reads in flight are
 * shared too. The copy is dropped as soon as a change of the Secret is noticed (`forget`: the watch
 * of `sops-keys`, the metadata poll of the others), and when a file no cached key opens the
 * reconcile asks again with `fresh` (docs/security.md "SOPS key Secrets read through a cache"). The
 * parsed keyring is kept until the key material changes, so an unrelated edit of the Secret does
 * not re-parse it.
 *
 * The keyring handed out carries the key sources tried (value-free): when a file cannot be
 * decrypted, `explainKeyFailure` names them — a refused controller-wide key, a missing Secret — and
 * points at a `sops-keys` Secret in the SMC's own namespace that the SMC does not reference.
 */
import { type CoreV1Api, type V1Secret, setHeaderOptions } from '../kube/client-node.js';
import type { SecretManagerConfigSpec } from '../api/index.js';
import { SmcError } from '../errors.js';
import { type SopsKeyring, createKeyring } from '../sops/index.js';
import {
  KMS_SECRET_KEYS,
  type KmsCredentials,
  KmsKeys,
  type KmsService,
  kmsCredentialsFrom,
} from '../sops/kms/index.js';
import { METADATA_ONLY } from './secret-poll.js';
import { mayUseControllerKey } from './settings.js';

export const DEFAULT_SOPS_SECRET = 'sops-keys';
const AGE_KEY = 'age.agekey';
const PGP_KEY = 'private.key';

export interface KeyPolicy {
  /** Namespace the controller runs in (home of `sops-keys`). */
  controllerNamespace: string;
  /** `no_cross_namespace_refs`. */
  noCrossNamespaceRefs: boolean;
  /** `controller_key_namespaces`: who may use the controller-wide `sops-keys` (`*`: everyone). */
  controllerKeyNamespaces: readonly string[];
  /**
   * `sops_workload_identity_namespaces`: whose SMCs may open key-service keys (AWS KMS, GCP KMS,
   * Azure Key Vault, Vault transit) with the controller's own identity when their key Secret holds
   * no credentials for the service (`*`: everyone; default: nobody). Read at each reconcile.
   */
  workloadIdentityNamespaces?: () => readonly string[];
  /**
   * How long a key Secret once read is used without reading it again (milliseconds, read at each
   * reconcile; default 0: read on every reconcile). The controller: `secret_poll_interval`.
   */
  keySecretCacheMs?: () => number;
}

interface SecretRef {
  name: string;
  namespace: string;
  key: string;
}

/**
 * Check a reference to a Secret (store or Git credentials, a SOPS key) against
 * `no_cross_namespace_refs`; throws `AccessDenied` naming the field, the Secret and the setting.
 */
export function checkSecretRef(
  smcNamespace: string,
  ref: Omit<SecretRef, 'key'>,
  policy: Pick<KeyPolicy, 'noCrossNamespaceRefs'>,
  field: string,
): void {
  if (!policy.noCrossNamespaceRefs || ref.namespace === smcNamespace) return;
  throw new SmcError(
    'AccessDenied',
    `${field}: Secret ${ref.namespace}/${ref.name} is outside namespace ${smcNamespace}, refused by the setting no_cross_namespace_refs`,
  );
}

/** Whether `ref` is the controller-wide SOPS key Secret. */
function isControllerKey(ref: Omit<SecretRef, 'key'>, policy: KeyPolicy): boolean {
  return ref.namespace === policy.controllerNamespace && ref.name === DEFAULT_SOPS_SECRET;
}

/** Why an SMC in `smcNamespace` may not use the controller-wide key, or undefined when it may. */
function controllerKeyRefusal(smcNamespace: string, policy: KeyPolicy): string | undefined {
  if (mayUseControllerKey(policy.controllerKeyNamespaces, policy.controllerNamespace, smcNamespace))
    return undefined;
  return `refused by the setting controller_key_namespaces (namespace ${smcNamespace} is not listed)`;
}

/**
 * Check a SOPS key Secret reference: the controller-wide `sops-keys` against
 * `controller_key_namespaces`, any other Secret against `no_cross_namespace_refs`.
 */
export function checkKeyRef(smcNamespace: string, ref: SecretRef, policy: KeyPolicy, field: string): void {
  if (isControllerKey(ref, policy)) {
    const refused = controllerKeyRefusal(smcNamespace, policy);
    if (refused) {
      throw new SmcError(
        'AccessDenied',
        `${field}: Secret ${ref.namespace}/${ref.name} is the controller-wide SOPS key, ${refused}`,
      );
    }
    return;
  }
  checkSecretRef(smcNamespace, ref, policy, field);
}

/** Value-free account of where an SMC's SOPS keys were looked for. */
interface KeySources {
  smcNamespace: string;
  /** One line per source, e.g. `spec.secrets.sops.ageSecretRef: Secret a/k key age.agekey`. */
  tried: string[];
  /** The controller-wide key was refused by `controller_key_namespaces`. */
  refused: boolean;
  /** The SMC's own namespace has a `sops-keys` Secret the SMC does not reference. */
  ownSopsKeys: boolean;
}

/** A keyring plus the key sources it was built from (never serialises key material). */
class TracedKeyring implements SopsKeyring {
  constructor(
    private readonly inner: SopsKeyring,
    readonly sources: KeySources,
    /** Built from at least one key Secret read earlier (the cache), not read for this reconcile. */
    readonly fromCache = false,
  ) {}
  get age() {
    return this.inner.age;
  }
  get pgp() {
    return this.inner.pgp;
  }
  get kms() {
    return this.inner.kms;
  }
  get identity() {
    return this.inner.identity;
  }
  describe(): string[] {
    return this.inner.describe();
  }
  toJSON(): unknown {
    return { keys: this.describe(), sources: this.sources.tried };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SopsKeyring { ${this.describe().join(', ') || 'empty'} }`;
  }
}

/** Whether an SMC in `namespace` may use the controller's own identity for key services. */
export function mayUseWorkloadIdentity(allowed: readonly string[], namespace: string): boolean {
  return allowed.includes('*') || allowed.includes(namespace);
}

/**
 * A SOPS failure made helpful: a file no configured key opens gets the key sources tried appended
 * (and a hint at an unreferenced `sops-keys` Secret in the SMC's namespace); when the only key on
 * offer was the controller-wide one and `controller_key_namespaces` refused it, the reason becomes
 * `AccessDenied`. Other errors pass unchanged. Never a value: names of fields, Secrets and keys only.
 */
export function explainKeyFailure(error: unknown, keyring: SopsKeyring | undefined): unknown {
  if (!(error instanceof SmcError) || (error.code !== 'SopsNoMatchingKey' && error.code !== 'SopsKmsFailed'))
    return error;
  if (!(keyring instanceof TracedKeyring)) return error;
  const { sources } = keyring;
  const hint = sources.ownSopsKeys
    ? `; hint: namespace ${sources.smcNamespace} has a Secret ${DEFAULT_SOPS_SECRET}: name it in spec.secrets.sops.ageSecretRef (key age.agekey) or gpgSecretRef (key private.key)`
    : '';
  const message = `${error.message}; key sources tried: ${sources.tried.join('; ')}${hint}`;
  const onlyRefused =
    error.code === 'SopsNoMatchingKey' &&
    sources.refused &&
    keyring.age.length === 0 &&
    keyring.pgp.length === 0;
  return new SmcError(onlyRefused ? 'AccessDenied' : error.code, message);
}

/**
 * Whether `keyring` was built from key Secrets read earlier (`keySecretCacheMs`): a file no key of
 * it opens is then worth another try with the Secrets read again (`keyringFor(…, fresh)`).
 */
export function servedFromCache(keyring: SopsKeyring | undefined): boolean {
  return keyring instanceof TracedKeyring && keyring.fromCache;
}

/** What a key Secret read keeps: its data (base64, as served) and resourceVersion; undefined: not found. */
type KeySecret = Pick<V1Secret, 'data'> & { resourceVersion?: string };

export class SopsKeyLoader {
  private readonly cache = new Map<string, { material: string; keyring: Promise<SopsKeyring> }>();
  /** Key Secret reads by `namespace/name`: when each started, and its answer (shared while in flight). */
  private readonly reads = new Map<string, { at: number; secret: Promise<KeySecret | undefined> }>();
  /** Keyrings with no key material: key services only (workload identity, or refused), per namespace. */
  private readonly bare = new Map<string, Promise<SopsKeyring>>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly policy: KeyPolicy,
    /** Told the resourceVersion of every key Secret read (undefined: not found), for change detection. */
    private readonly onRead?: (namespace: string, name: string, resourceVersion: string | undefined) => void,
    /** `max_key_file_bytes`, read at each parse (a settings reload applies to the next one). */
    private readonly maxKeyFileBytes?: () => number,
  ) {}

  /**
   * The keyring for an SMC — possibly empty when no key is configured, found or allowed: a file that
   * needs a key then fails with the sources tried (`explainKeyFailure`).
   */
  async keyringFor(smcNamespace: string, spec: SecretManagerConfigSpec, fresh = false): Promise<SopsKeyring> {
    const sops = spec.secrets.sops;
    const refs: { ref: SecretRef; kind: 'age' | 'pgp'; field: string; explicit: boolean }[] = [];
    if (sops.ageSecretRef) {
      refs.push({
        ref: { ...sops.ageSecretRef, namespace: sops.ageSecretRef.namespace ?? smcNamespace },
        kind: 'age',
        field: 'spec.secrets.sops.ageSecretRef',
        explicit: true,
      });
    }
    if (sops.gpgSecretRef) {
      refs.push({
        ref: { ...sops.gpgSecretRef, namespace: sops.gpgSecretRef.namespace ?? smcNamespace },
        kind: 'pgp',
        field: 'spec.secrets.sops.gpgSecretRef',
        explicit: true,
      });
    }
    const sources: KeySources = { smcNamespace, tried: [], refused: false, ownSopsKeys: false };
    if (refs.length === 0) {
      const ns = this.policy.controllerNamespace;
      const shown = `Secret ${ns}/${DEFAULT_SOPS_SECRET} (the controller-wide key)`;
      sources.tried.push('spec.secrets.sops.ageSecretRef and gpgSecretRef: not set');
      const refused = controllerKeyRefusal(smcNamespace, this.policy);
      if (refused) {
        sources.tried.push(`${shown}: ${refused}`);
        sources.refused = true;
        sources.ownSopsKeys = await this.exists(smcNamespace, DEFAULT_SOPS_SECRET);
        return new TracedKeyring(await this.bareKeyring(smcNamespace), sources);
      }
      refs.push(
        {
          ref: { name: DEFAULT_SOPS_SECRET, namespace: ns, key: AGE_KEY },
          kind: 'age',
          field: 'sops-keys',
          explicit: false,
        },
        {
          ref: { name: DEFAULT_SOPS_SECRET, namespace: ns, key: PGP_KEY },
          kind: 'pgp',
          field: 'sops-keys',
          explicit: false,
        },
      );
    }
    const age: string[] = [];
    const pgp: string[] = [];
    /** Where each input came from (field, Secret, key), in input order: for error messages. */
    const from: Record<'age' | 'pgp', string[]> = { age: [], pgp: [] };
    /** Key-service credentials (Flux's `sops.*` keys) of every Secret read, first one per service wins. */
    const kmsData: { data: Record<string, string>; secret: string }[] = [];
    const seen = new Set<string>();
    let fromCache = false;
    for (const r of refs) {
      if (r.explicit) checkKeyRef(smcNamespace, r.ref, this.policy, r.field);
      const read = await this.readSecret(r.ref, fresh);
      fromCache ||= read.cached;
      const secret = read.secret;
      const secretName = `${r.ref.namespace}/${r.ref.name}`;
      if (secret?.data && !seen.has(secretName)) {
        seen.add(secretName);
        const data: Record<string, string> = {};
        for (const k of Object.values(KMS_SECRET_KEYS)) {
          const v = secret.data[k];
          if (v !== undefined) data[k] = Buffer.from(v, 'base64').toString('utf8');
        }
        if (Object.keys(data).length > 0) {
          const label = r.explicit
            ? `${r.field}: Secret ${secretName}`
            : `Secret ${secretName} (the controller-wide key)`;
          kmsData.push({ data, secret: label });
          sources.tried.push(`${label} keys ${Object.keys(data).sort().join(', ')}`);
        }
      }
      const raw = secret?.data?.[r.ref.key];
      const shown = `${r.field}: Secret ${r.ref.namespace}/${r.ref.name} key ${r.ref.key}`;
      if (raw === undefined) {
        if (r.explicit) {
          if (secret && kmsData.some((d) => d.secret.endsWith(`Secret ${secretName}`))) {
            // A Secret holding only key-service credentials (Flux's layout) is fine.
            sources.tried.push(`${r.field}: Secret ${secretName} (no key ${r.ref.key})`);
            continue;
          }
          // A Secret not created yet fixes itself when it appears (its change triggers a reconcile).
          throw new SmcError(
            secret ? 'SopsNoMatchingKey' : 'KeySecretNotFound',
            `${r.field}: Secret ${r.ref.namespace}/${r.ref.name} ${secret ? `has no key ${r.ref.key}` : 'not found'}`,
          );
        }
        sources.tried.push(
          `Secret ${r.ref.namespace}/${r.ref.name} (the controller-wide key) key ${r.ref.key}: ${secret ? 'absent' : 'Secret not found'}`,
        );
        continue;
      }
      (r.kind === 'age' ? age : pgp).push(Buffer.from(raw, 'base64').toString('utf8'));
      from[r.kind].push(shown);
      sources.tried.push(
        r.explicit
          ? shown
          : `Secret ${r.ref.namespace}/${r.ref.name} (the controller-wide key) key ${r.ref.key}`,
      );
    }
    if (age.length === 0 && pgp.length === 0 && kmsData.length === 0) {
      if (smcNamespace !== this.policy.controllerNamespace && refs.every((r) => !r.explicit))
        sources.ownSopsKeys = await this.exists(smcNamespace, DEFAULT_SOPS_SECRET);
      return new TracedKeyring(await this.bareKeyring(smcNamespace), sources);
    }
    const ambient = this.ambient(smcNamespace);
    const cacheKey = `${smcNamespace}\u0002${refs.map((r) => `${r.ref.namespace}/${r.ref.name}/${r.ref.key}`).join(',')}`;
    const version = JSON.stringify([age, pgp, kmsData, ambient]);
    const hit = this.cache.get(cacheKey);
    if (hit && hit.material === version) return new TracedKeyring(await hit.keyring, sources, fromCache);
    const build = async (): Promise<SopsKeyring> => {
      const credentials: KmsCredentials = {};
      const kmsSources: Partial<Record<KmsService, string>> = {};
      for (const d of kmsData) {
        const parsed = kmsCredentialsFrom(d.data, (k) => `${d.secret} key ${k}`);
        for (const s of Object.keys(parsed.sources) as KmsService[]) {
          if (kmsSources[s] !== undefined) continue;
          kmsSources[s] = parsed.sources[s]!;
          if (s === 'aws_kms') credentials.aws = parsed.credentials.aws!;
          if (s === 'gcp_kms') credentials.gcp = parsed.credentials.gcp!;
          if (s === 'azure_kv') credentials.azure = parsed.credentials.azure!;
          if (s === 'hc_vault') credentials.vaultToken = parsed.credentials.vaultToken!;
        }
      }
      const kms = new KmsKeys({ credentials, sources: kmsSources, ...ambient });
      return createKeyring({ age, pgp, kms }, { maxKeyFileBytes: this.maxKeyFileBytes?.() }).catch(
        (e: unknown) => {
          throw nameKeySource(e, from);
        },
      );
    };
    const keyring = build();
    this.cache.set(cacheKey, { material: version, keyring });
    keyring.catch(() => this.cache.delete(cacheKey));
    return new TracedKeyring(await keyring, sources, fromCache);
  }

  /** A change of Secret `namespace/name` was noticed: its next use reads it again. */
  forget(namespace: string, name: string): void {
    this.reads.delete(`${namespace}/${name}`);
  }

  /** Whether `smcNamespace` may use the controller's identity for key services, and if not why. */
  private ambient(smcNamespace: string): { ambient: boolean; ambientRefusal?: string } {
    if (mayUseWorkloadIdentity(this.policy.workloadIdentityNamespaces?.() ?? [], smcNamespace))
      return { ambient: true };
    return {
      ambient: false,
      ambientRefusal: `the controller's workload identity is not allowed for namespace ${smcNamespace} (setting sops_workload_identity_namespaces)`,
    };
  }

  /** A keyring without key material: key services through workload identity where allowed. */
  private bareKeyring(smcNamespace: string): Promise<SopsKeyring> {
    const ambient = this.ambient(smcNamespace);
    const id = JSON.stringify([smcNamespace, ambient]);
    let keyring = this.bare.get(id);
    if (!keyring) {
      keyring = createKeyring({ kms: new KmsKeys(ambient) });
      this.bare.set(id, keyring);
    }
    return keyring;
  }

  /** Whether a Secret exists (a metadata-only read: its data never travels); false when unreadable. */
  private async exists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.core.readNamespacedSecret({ name, namespace }, setHeaderOptions('Accept', METADATA_ONLY));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A key Secret, from a read made less than `keySecretCacheMs` ago (or in flight) unless `fresh`.
   * `cached`: the answer came from such an earlier read.
   */
  private async readSecret(
    ref: SecretRef,
    fresh: boolean,
  ): Promise<{ secret: KeySecret | undefined; cached: boolean }> {
    const id = `${ref.namespace}/${ref.name}`;
    const now = Date.now();
    const ttl = this.policy.keySecretCacheMs?.() ?? 0;
    const hit = this.reads.get(id);
    if (!fresh && hit && now - hit.at < ttl) return { secret: await hit.secret, cached: true };
    for (const [k, r] of this.reads) if (now - r.at >= ttl) this.reads.delete(k);
    const secret = this.fetchSecret(ref);
    if (ttl > 0) {
      const entry = { at: now, secret };
      this.reads.set(id, entry);
      // A failed read is not kept: the next reconcile asks again.
      secret.catch(() => {
        if (this.reads.get(id) === entry) this.reads.delete(id);
      });
    }
    return { secret: await secret, cached: false };
  }

  private async fetchSecret(ref: SecretRef): Promise<KeySecret | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
      const resourceVersion = secret.metadata?.resourceVersion;
      this.onRead?.(ref.namespace, ref.name, resourceVersion);
      return { data: secret.data, resourceVersion };
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) {
        this.onRead?.(ref.namespace, ref.name, undefined);
        return undefined;
      }
      if (code === 403) {
        throw new SmcError(
          'AccessDenied',
          `cannot read Secret ${ref.namespace}/${ref.name} (forbidden): grant the controller get on it`,
        );
      }
      throw new SmcError(
        'StoreError',
        `reading Secret ${ref.namespace}/${ref.name} failed (HTTP ${code ?? 'error'})`,
      );
    }
  }
}

/**
 * Key material that does not parse is reported by `createKeyring` as `age key input #N` /
 * `pgp key input #N`; name the Secret and key it came from instead (never its content).
 */
function nameKeySource(e: unknown, from: Record<'age' | 'pgp', string[]>): unknown {
  if (!(e instanceof SmcError)) return e;
  const m = /^(age|pgp) key input #(\d+)/.exec(e.message);
  const source = m ? from[m[1] as 'age' | 'pgp'][Number(m[2]) - 1] : undefined;
  return source ? new SmcError(e.code, `${source}${e.message.slice(m![0].length)}`) : e;
}
