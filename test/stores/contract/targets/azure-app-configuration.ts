/**
 * The store contract for Azure App Configuration, against a FAKE of the App Configuration key-value
 * REST API (test/peers/fakes/azure-app-configuration.ts; no emulator exists). The store signs every
 * request with HMAC-SHA256 from a connection string, and the fake verifies the signatures.
 *
 * Calls are counted twice: by the store's observer and, independently, by the fake's request log
 * (requests carrying this store's user-agent tag). `calls.writes()`/`reads()` fail when they disagree.
 *
 * App Configuration has no versions (`versionCount` is undefined) and no disabled state: "enabled"
 * out of band means "has no `disabled=true` tag".
 */
import { randomBytes } from 'node:crypto';
import { AppConfigurationClient } from '@azure/app-configuration';
import { AzureAppConfigurationStore } from '../../../../src/stores/azure/index.js';
import { startFakeAppConfig, type FakeAppConfig } from '../../../peers/fakes/azure-app-configuration.js';
import type { OutOfBand, StoreTarget } from '../target.js';
import { countedCalls } from './counted-calls.js';

const WRITE_METHODS = new Set(['PUT', 'DELETE']);
export const CONTRACT_LABEL = 'contract';

export function appConfigOutOfBand(client: AppConfigurationClient, label: string | undefined): OutOfBand {
  const get = async (key: string) => {
    try {
      return await client.getConfigurationSetting({ key, label });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  };
  return {
    async createUnmanaged(name, value) {
      await client.setConfigurationSetting({ key: name, label, value });
    },
    async readValue(name) {
      return (await get(name))?.value;
    },
    async isEnabled(name) {
      const s = await get(name);
      return s === undefined ? undefined : s.tags?.disabled !== 'true';
    },
    async exists(name) {
      return (await get(name)) !== undefined;
    },
    async versionCount() {
      return undefined;
    },
    async setValue(name, value) {
      const s = await get(name);
      await client.setConfigurationSetting({ ...s, key: name, label, value });
    },
  };
}

/** Reads and writes of one store as the fake saw them. */
function fakeCounts(fake: FakeAppConfig, tag: string, from: number) {
  let writes = 0;
  let reads = 0;
  for (const r of fake.requests.slice(from)) {
    if (!r.userAgent.includes(tag)) continue;
    if (WRITE_METHODS.has(r.method)) writes++;
    else reads++;
  }
  return { writes, reads };
}

export const azureAppConfigurationTarget: StoreTarget = {
  name: 'azure-app-configuration',
  fake: true,
  async start() {
    const fake = await startFakeAppConfig();
    const outOfBand = appConfigOutOfBand(
      new AppConfigurationClient(fake.connectionString, {
        retryOptions: { maxRetries: 0 },
        tlsOptions: { ca: fake.caPem },
      }),
      CONTRACT_LABEL,
    );
    return {
      async newStore({ observer }) {
        const tag = `smc-contract-${randomBytes(4).toString('hex')}`;
        const { observer: counting, calls } = countedCalls(
          observer,
          'fake',
          (from) => fakeCounts(fake, tag, from),
          () => fake.requests.length,
        );
        const store = new AzureAppConfigurationStore({
          connectionString: fake.connectionString,
          environment: 'contract',
          label: CONTRACT_LABEL,
          clientOptions: { userAgentOptions: { userAgentPrefix: tag }, tlsOptions: { ca: fake.caPem } },
          retryPolicy: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50 },
          observer: counting,
        });
        return { store, outOfBand, calls };
      },
      stop: () => fake.stop(),
    };
  },
};
