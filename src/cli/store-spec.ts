/**
 * `--store TYPE:TARGET` and `--config-store TYPE:TARGET`: each store's form is declared by its
 * folder (src/stores/<type>/provider.ts) and found through the registry (src/stores/registry.ts).
 */
import { InvalidArgumentError } from 'commander';
import { SmcError } from '../errors.js';
import type { CliStoreContext, CliTarget } from '../stores/provider.js';
import { CLI_SCHEMES, PROVIDERS, cliForm } from '../stores/registry.js';
import type { SecretStore } from '../stores/store.js';

/** What a store needs to know about the run, beyond its target. */
export type StoreContext = CliStoreContext;

export const STORE_SPEC_HELP = PROVIDERS.flatMap((p) => p.kinds.flatMap((k) => k.cli.help)).join('\n');

/** A `--store TYPE:TARGET` that has been checked: every part has its documented format. */
export type StoreSpec = { text: string; type: string } & CliTarget;

/**
 * Checks `--store TYPE:TARGET` (the formats are the SecretManagerConfig's, docs/crd-reference.md)
 * without building a client or touching the network. Throws InvalidSpec saying what is expected.
 */
export function parseStoreSpec(text: string): StoreSpec {
  const colon = text.indexOf(':');
  const type = colon < 0 ? text : text.slice(0, colon);
  const target = colon < 0 ? '' : text.slice(colon + 1);
  const form = cliForm(type);
  if (!form)
    throw new SmcError('InvalidSpec', `unknown store type "${type}" (known: ${CLI_SCHEMES.join(', ')})`);
  if (!target) throw new SmcError('InvalidSpec', 'expected TYPE:TARGET, e.g. local:./out');
  return { ...form.parse(target), text, type };
}

/** `parseStoreSpec` as a commander option parser: a bad value is a usage error naming the option. */
export function storeSpecOption(text: string): StoreSpec {
  try {
    return parseStoreSpec(text);
  } catch (e) {
    if (e instanceof SmcError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/**
 * A checked store spec → a store. Cloud stores use their SDK's default credentials (Workload
 * Identity / ADC, the AWS chain, Azure's default chain, the current kubeconfig) and the documented
 * endpoint variables (SMC_GCP_SECRET_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER,
 * AWS_ENDPOINT_URL_SSM, SMC_AZURE_KEYVAULT_CA_FILE, …). Only the named store's SDK is loaded.
 */
export async function storeFromSpec(spec: StoreSpec, ctx: StoreContext): Promise<SecretStore> {
  const form = cliForm(spec.type);
  if (!form) throw new SmcError('InvalidSpec', `unknown store type "${spec.type}"`);
  return form.open(spec, ctx);
}
