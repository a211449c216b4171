/**
 * SOPS keys of one SMC (SPEC §3 "SOPS"): its `ageSecretRef` / `gpgSecretRef`, else the
 * controller-wide `sops-keys` Secret in the controller namespace. A key in another namespace is
 * used only when the SMC names it, and `no_cross_namespace_refs` can refuse even that. The Secrets
 * are read on each reconcile that decrypts; the parsed keyring is kept until their key material
 * changes, so a rotated key is picked up on the next reconcile (and an unrelated edit of the Secret
 * does not re-parse it). Material that does not parse is reported naming the Secret and key.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { SecretManagerConfigSpec } from '../api/index.js';
import { SmcError } from '../errors.js';
import { type SopsKeyring, createKeyring } from '../sops/index.js';

export const DEFAULT_SOPS_SECRET = 'sops-keys';
const AGE_KEY = 'age.agekey';
const PGP_KEY = 'private.key';

export interface KeyPolicy {
  /** Namespace the controller runs in (home of `sops-keys`). */
  controllerNamespace: string;
  noCrossNamespaceRefs: boolean;
  allowControllerNamespaceKeys: boolean;
}

interface SecretRef {
  name: string;
  namespace: string;
  key: string;
}

/** Check a key reference against the multi-tenancy settings; throws `AccessDenied`. */
export function checkKeyRef(smcNamespace: string, ref: SecretRef, policy: KeyPolicy, field: string): void {
  if (!policy.noCrossNamespaceRefs || ref.namespace === smcNamespace) return;
  if (policy.allowControllerNamespaceKeys && ref.namespace === policy.controllerNamespace) return;
  throw new SmcError(
    'AccessDenied',
    `${field}: Secret ${ref.namespace}/${ref.name} is outside namespace ${smcNamespace}, refused by the setting no_cross_namespace_refs`,
  );
}

export class SopsKeyLoader {
  private readonly cache = new Map<string, { material: string; keyring: Promise<SopsKeyring> }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly policy: KeyPolicy,
    /** `max_key_file_bytes`, read at each parse (a settings reload applies to the next one). */
    private readonly maxKeyFileBytes?: () => number,
  ) {}

  /** The keyring for an SMC, or undefined when no key is configured or found. */
  async keyringFor(smcNamespace: string, spec: SecretManagerConfigSpec): Promise<SopsKeyring | undefined> {
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
    if (refs.length === 0) {
      const ns = this.policy.controllerNamespace;
      if (
        this.policy.noCrossNamespaceRefs &&
        !this.policy.allowControllerNamespaceKeys &&
        ns !== smcNamespace
      )
        return undefined;
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
    for (const r of refs) {
      if (r.explicit) checkKeyRef(smcNamespace, r.ref, this.policy, r.field);
      const secret = await this.readSecret(r.ref);
      const raw = secret?.data?.[r.ref.key];
      if (raw === undefined) {
        if (r.explicit) {
          throw new SmcError(
            'SopsNoMatchingKey',
            `${r.field}: Secret ${r.ref.namespace}/${r.ref.name} ${secret ? `has no key ${r.ref.key}` : 'not found'}`,
          );
        }
        continue;
      }
      (r.kind === 'age' ? age : pgp).push(Buffer.from(raw, 'base64').toString('utf8'));
      from[r.kind].push(`${r.field}: Secret ${r.ref.namespace}/${r.ref.name} key ${r.ref.key}`);
    }
    if (age.length === 0 && pgp.length === 0) return undefined;
    const cacheKey = refs.map((r) => `${r.ref.namespace}/${r.ref.name}/${r.ref.key}`).join(',');
    const version = `${age.join('\0')}\u0001${pgp.join('\0')}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.material === version) return hit.keyring;
    const keyring = createKeyring({ age, pgp }, { maxKeyFileBytes: this.maxKeyFileBytes?.() }).catch(
      (e: unknown) => {
        throw nameKeySource(e, from);
      },
    );
    this.cache.set(cacheKey, { material: version, keyring });
    keyring.catch(() => this.cache.delete(cacheKey));
    return keyring;
  }

  private async readSecret(ref: SecretRef): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) return undefined;
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
