/**
 * The one list of stores. Each folder under `src/stores/` shows one face (`provider.ts`, see
 * `provider.ts` here); this registry maps store types, `--store` schemes and `spec.provider` keys to
 * them. Adding a store is a new folder plus one line in PROVIDERS (docs/architecture.md).
 */
import type { ProviderName } from '../api/index.js';
import { SmcError } from '../errors.js';
import type { StoreLimits } from '../naming/limits.js';
import type { StoreNamingRule } from '../naming/store-rules.js';
import { awsProvider } from './aws/provider.js';
import { azureProvider } from './azure/provider.js';
import { gcpProvider } from './gcp/provider.js';
import { kubernetesProvider } from './kubernetes/provider.js';
import { localProvider } from './local/provider.js';
import type { AllowlistForm, CliForm, NamingOptions, StoreKind, StoreProvider } from './provider.js';

export const PROVIDERS: readonly StoreProvider[] = [
  localProvider,
  gcpProvider,
  awsProvider,
  azureProvider,
  kubernetesProvider,
];

const KINDS: readonly StoreKind[] = PROVIDERS.flatMap((p) => p.kinds);

/** Every store type (`SecretStore.type`). */
export const STORE_TYPES: readonly string[] = KINDS.map((k) => k.type);

/** Every `--store` scheme, in the order of the help text. */
export const CLI_SCHEMES: readonly string[] = KINDS.map((k) => k.cli.scheme);

/** Each store type's documented limits. */
export const STORE_LIMITS: Readonly<Record<string, StoreLimits>> = Object.fromEntries(
  KINDS.map((k) => [k.type, k.limits]),
);

function kind(type: string): StoreKind {
  const found = KINDS.find((k) => k.type === type);
  if (!found)
    throw new SmcError('InvalidSpec', `unknown store type "${type}" (known: ${STORE_TYPES.join(', ')})`);
  return found;
}

/** The naming rule of a store type; `ssm` needs `parameterPath`, `appconfig` needs `environment`. */
export function namingRuleFor(type: string, opts: NamingOptions = {}): StoreNamingRule {
  const naming = kind(type).naming;
  return typeof naming === 'function' ? naming(opts) : naming;
}

/** The `--store` form of `scheme`, or undefined when no store has it. */
export function cliForm(scheme: string): CliForm | undefined {
  return KINDS.find((k) => k.cli.scheme === scheme)?.cli;
}

/** The folder whose stores an SMC with `spec.provider.<name>` writes to. */
export function smcProvider(name: ProviderName): NonNullable<StoreProvider['openForSmc']> {
  const found = PROVIDERS.find((p) => p.openForSmc?.provider === name)?.openForSmc;
  if (!found) throw new SmcError('InvalidSpec', `spec.provider.${name}: no store handles this provider`);
  return found;
}

/** The `spec.provider` keys a store folder handles, in registry order. */
export const SMC_PROVIDERS: readonly string[] = PROVIDERS.flatMap((p) =>
  p.openForSmc ? [p.openForSmc.provider] : [],
);

/** How `store_allowlist` names the targets of `spec.provider.<name>`; undefined for an unknown one. */
export function allowlistForm(name: string): AllowlistForm | undefined {
  return PROVIDERS.find((p) => p.openForSmc?.provider === name)?.openForSmc?.allowlist;
}
