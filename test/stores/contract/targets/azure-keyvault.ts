/**
 * The store contract for Azure Key Vault, against a FAKE of the Key Vault secrets REST API
 * (test/peers/fakes/azure-keyvault.ts; no Key Vault emulator can be installed here). The store trusts
 * the fake's certificate through `SMC_AZURE_KEYVAULT_CA_FILE`, as a deployment would.
 *
 * Calls are counted twice: by the store's observer and, independently, by the fake's request log
 * (requests carrying this store's user-agent tag). `calls.writes()`/`reads()` fail when they disagree.
 */
import { randomBytes } from 'node:crypto';
import { SecretClient } from '@azure/keyvault-secrets';
import { AzureKeyVaultStore, staticTokenCredential } from '../../../../src/stores/azure/index.js';
import { startFakeKeyVault, type FakeKeyVault } from '../../../peers/fakes/azure-keyvault.js';
import type { OutOfBand, StoreTarget } from '../target.js';
import { countedCalls } from './counted-calls.js';

const WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

export function keyVaultOutOfBand(client: SecretClient): OutOfBand {
  const props = async (name: string) => {
    for await (const p of client.listPropertiesOfSecrets()) {
      if (p.name.toLowerCase() === name.toLowerCase()) return p;
    }
    return undefined;
  };
  const status = (e: unknown) => (e as { statusCode?: number }).statusCode;
  return {
    async createUnmanaged(name, value) {
      await client.setSecret(name, value);
    },
    async readValue(name) {
      try {
        return (await client.getSecret(name)).value;
      } catch (e) {
        if (status(e) === 404 || status(e) === 403) return undefined;
        throw e;
      }
    },
    async isEnabled(name) {
      const p = await props(name);
      return p === undefined ? undefined : p.enabled !== false;
    },
    async exists(name) {
      return (await props(name)) !== undefined;
    },
    async versionCount(name) {
      let n = 0;
      try {
        for await (const _ of client.listPropertiesOfSecretVersions(name)) n++;
      } catch (e) {
        if (status(e) !== 404) throw e;
      }
      return n;
    },
    async setValue(name, value) {
      const p = await props(name);
      await client.setSecret(name, value, { tags: p?.tags });
    },
  };
}

/** Reads and writes of one store as the fake saw them (the auth challenge probe is a read). */
function fakeCounts(vault: FakeKeyVault, tag: string, from: number) {
  let writes = 0;
  let reads = 0;
  for (const r of vault.requests.slice(from)) {
    if (!r.userAgent.includes(tag)) continue;
    if (r.status === 401 && !r.authorized) reads++;
    else if (WRITE_METHODS.has(r.method)) writes++;
    else reads++;
  }
  return { writes, reads };
}

export const azureKeyVaultTarget: StoreTarget = {
  name: 'azure-keyvault',
  fake: true,
  async start() {
    const vault = await startFakeKeyVault();
    const outOfBand = keyVaultOutOfBand(
      new SecretClient(vault.vaultUrl, staticTokenCredential(), {
        tlsOptions: { ca: vault.caPem },
        disableChallengeResourceVerification: true,
        retryOptions: { maxRetries: 0 },
      }),
    );
    return {
      async newStore({ observer }) {
        const tag = `smc-contract-${randomBytes(4).toString('hex')}`;
        const { observer: counting, calls } = countedCalls(
          observer,
          'vault',
          (from) => fakeCounts(vault, tag, from),
          () => vault.requests.length,
        );
        const store = new AzureKeyVaultStore({
          vaultUrl: vault.vaultUrl,
          environment: 'contract',
          credential: staticTokenCredential(),
          env: { SMC_AZURE_KEYVAULT_CA_FILE: vault.caFile },
          clientOptions: {
            disableChallengeResourceVerification: true,
            userAgentOptions: { userAgentPrefix: tag },
          },
          retryPolicy: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50 },
          observer: counting,
        });
        return { store, outOfBand, calls };
      },
      stop: () => vault.stop(),
    };
  },
};
