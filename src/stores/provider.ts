/**
 * The face of a store folder (`src/stores/<folder>/provider.ts`), which the registry
 * (`registry.ts`) lists: the store types it holds — each with its naming rule, its limits and its
 * `--store TYPE:TARGET` form — and how it opens the stores of a SecretManagerConfig whose
 * `spec.provider` names it. Nothing outside `src/stores/` knows which stores exist: the CLI and the
 * controller ask the registry (docs/architecture.md, "The store face").
 */
import type { KubeConfig } from '../kube/client-node.js';
import type { ProviderName, SecretManagerConfigSpec } from '../api/index.js';
import type { StoreLimits } from '../naming/limits.js';
import type { StoreNamingRule } from '../naming/store-rules.js';
import type { ClientLease } from './client-cache.js';
import type { SecretStore, StoreObserver } from './store.js';

/** What a naming rule may depend on: SSM's parameter path, App Configuration's environment. */
export interface NamingOptions {
  parameterPath?: string;
  environment?: string;
}

/** What a store opened from the command line needs to know about the run, beyond its target. */
export interface CliStoreContext {
  environment: string;
  /** The SMC-wide prefix, for SSM's default parameter path `/<prefix>/<environment>`. */
  prefix?: string;
  /** `local:` stores may write into a non-empty directory that is not a store of ours (`--allow-non-empty-dir`). */
  allowNonEmptyDir?: boolean;
}

/** The parsed target of `--store TYPE:TARGET`: its documented parts (e.g. `region`, `dir`). */
export type CliTarget = Record<string, string | undefined>;

/** `--store TYPE:TARGET` for one store type. */
export interface CliForm {
  /** `TYPE` on the command line (`azure` for Key Vault). */
  scheme: string;
  /** Lines of `--store` help, aligned as in STORE_SPEC_HELP. */
  help: readonly string[];
  /** Check TARGET without building a client or touching the network; throws InvalidSpec saying what is expected. */
  parse(target: string): CliTarget;
  /**
   * Build the store with the SDK's default credentials and the documented endpoint variables.
   * Async because a cloud store's module (and its SDK) is imported only here, when first used.
   */
  open(target: CliTarget, ctx: CliStoreContext): Promise<SecretStore>;
}

/** One store type (`SecretStore.type`). */
export interface StoreKind {
  type: string;
  naming: StoreNamingRule | ((opts: NamingOptions) => StoreNamingRule);
  limits: StoreLimits;
  cli: CliForm;
}

/**
 * Where an SMC wants to write, as the `store_allowlist` setting sees it: the provider and its
 * target's parts (e.g. `projectId`; a part undefined when not known, matched only by `*`).
 */
export type StoreTarget = { provider: string } & Record<string, string | undefined>;

/** How `store_allowlist` names a provider's targets: `aws/<accountId>/<region>`. */
export interface AllowlistForm {
  /** The syntax, for errors. */
  syntax: string;
  /** A target's parts in the order the syntax lists them (normalised for comparison). */
  segments(target: StoreTarget): (string | undefined)[];
}

/** A reference to a credentials Secret in an SMC's spec (`provider.*.auth.secretRef`). */
export interface SecretKeyRefLike {
  name: string;
  namespace?: string;
  key?: string;
}

/** What the controller hands a provider opening an SMC's stores. */
export interface SmcOpenContext {
  smc: { namespace: string; name: string; uid?: string };
  spec: SecretManagerConfigSpec;
  /** Throws AccessDenied when `store_allowlist` refuses `target` for the SMC's namespace. */
  allow(target: StoreTarget, what: string): void;
  /**
   * The credential built from the Secret `ref` names (`field`: the spec path, for messages), cached
   * per Secret version and `auth`. `build` gets the decoded data and a value-free place name.
   */
  credential<T>(
    ref: SecretKeyRefLike,
    field: string,
    auth: unknown,
    build: (data: Record<string, string | undefined>, where: string) => T,
  ): Promise<T>;
  /** Cache a credential that needs no Secret, under a key made of `parts`. */
  remember<T>(parts: readonly unknown[], make: () => T): T;
  /**
   * The SDK client of one store configuration, shared across reconciles (src/stores/client-cache.ts):
   * `parts` name the configuration — strings, and credential objects (as `credential`/`remember`
   * return them), compared by identity. Absent: each store builds its own client.
   */
  clients?(parts: readonly unknown[]): ClientLease;
  /** `provider_max_rps`. */
  maxWritesPerSecond?: number;
  /** Metrics observer for a store type. */
  observer(storeType: string): StoreObserver | undefined;
  /** Test seams merged into the store constructors' options. */
  overrides: Record<string, unknown>;
  kubeConfig?: KubeConfig;
}

/** The stores of one SMC: its secret store and, with `configs.enabled`, its config store. */
export interface OpenedStores {
  secretStore: SecretStore;
  configStore?: SecretStore;
}

/** One store folder's face. */
export interface StoreProvider {
  /** The folder (`local`, `gcp`, …); also `spec.provider`'s key when `openForSmc` is set. */
  name: string;
  kinds: readonly StoreKind[];
  /** Open the stores of an SMC whose `spec.provider.<name>` is set (absent: CLI only). */
  openForSmc?: {
    provider: ProviderName;
    open(ctx: SmcOpenContext): Promise<OpenedStores>;
    allowlist: AllowlistForm;
  };
}
