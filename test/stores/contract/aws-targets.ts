/**
 * Contract targets for the AWS stores against moto: Secrets Manager and SSM Parameter Store.
 *
 * Calls are counted twice: by the store's observer (what metrics see) and independently by an SDK
 * middleware on the store's own client, classified by command name. `calls.writes()`/`reads()` fail
 * the test when the two disagree.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
  type SSMClientConfig,
} from '@aws-sdk/client-ssm';
import { AwsSecretsManagerStore } from '../../../src/stores/aws/secrets-manager.js';
import { AwsSsmParameterStore } from '../../../src/stores/aws/ssm.js';
import type { StoreObserver } from '../../../src/stores/store.js';
import { ensurePeer, startMoto, type MotoPeer } from '../../peers/cloud/index.js';
import type { OutOfBand, StoreTarget, StoreUnderTest } from './target.js';

const SM_WRITES = new Set([
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecret',
  'TagResource',
  'UntagResource',
  'DeleteSecret',
  'RestoreSecret',
]);
const SSM_WRITES = new Set([
  'PutParameter',
  'AddTagsToResource',
  'RemoveTagsFromResource',
  'DeleteParameter',
  'DeleteParameters',
  'LabelParameterVersion',
]);

interface MiddlewareClient {
  middlewareStack: {
    add(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        ctx: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      opts: { step: 'initialize'; name: string },
    ): void;
  };
}

/** Counts requests at the SDK (independent of the store's observer). */
export function countRequests(
  client: unknown,
  writes: ReadonlySet<string>,
  counter: { writes: number; reads: number },
) {
  (client as MiddlewareClient).middlewareStack.add(
    (next, ctx) => async (args) => {
      if (writes.has(ctx.commandName?.replace(/Command$/, '') ?? '')) counter.writes++;
      else counter.reads++;
      return next(args);
    },
    { step: 'initialize', name: 'smcContractRequestCounter' },
  );
}

/** Observer counts + SDK counts, checked against each other on every read of the counters. */
export function dualCounter(forward: StoreObserver | undefined) {
  const sdk = { writes: 0, reads: 0 };
  const seen = { writes: 0, reads: 0 };
  const observer: StoreObserver = {
    onCall: (call) => {
      if (call.write) seen.writes++;
      else seen.reads++;
      forward?.onCall?.(call);
    },
    onThrottled: () => forward?.onThrottled?.(),
  };
  const agree = () => {
    if (sdk.writes !== seen.writes || sdk.reads !== seen.reads) {
      throw new Error(
        `observer and SDK disagree: observer saw ${seen.writes} writes/${seen.reads} reads, SDK sent ${sdk.writes}/${sdk.reads}`,
      );
    }
  };
  const calls: StoreUnderTest['calls'] = {
    writes: () => (agree(), seen.writes),
    reads: () => (agree(), seen.reads),
    reset: () => {
      sdk.writes = sdk.reads = seen.writes = seen.reads = 0;
    },
  };
  return { sdk, observer, calls };
}

function isErr(e: unknown, ...names: string[]): boolean {
  return e instanceof Error && names.includes(e.name);
}

async function startPeer(): Promise<MotoPeer> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  await ensurePeer('moto');
  return startMoto();
}

export function secretsManagerOutOfBand(sm: SecretsManagerClient): OutOfBand {
  const describe = async (name: string) => {
    try {
      return await sm.send(new DescribeSecretCommand({ SecretId: name }));
    } catch (e) {
      if (isErr(e, 'ResourceNotFoundException')) return undefined;
      throw e;
    }
  };
  return {
    async createUnmanaged(name, value) {
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    },
    async readValue(name) {
      try {
        return (await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
      } catch (e) {
        if (isErr(e, 'ResourceNotFoundException', 'InvalidRequestException')) return undefined;
        throw e;
      }
    },
    async isEnabled(name) {
      const d = await describe(name);
      if (!d || d.DeletedDate) return undefined;
      return !(d.Tags ?? []).some((t) => t.Key === 'disabled' && t.Value === 'true');
    },
    async exists(name) {
      const d = await describe(name);
      return d !== undefined && d.DeletedDate === undefined;
    },
    async versionCount(name) {
      let count = 0;
      let NextToken: string | undefined;
      do {
        const page = await sm.send(
          new ListSecretVersionIdsCommand({
            SecretId: name,
            IncludeDeprecated: true,
            ...(NextToken ? { NextToken } : {}),
          }),
        );
        count += page.Versions?.length ?? 0;
        NextToken = page.NextToken || undefined;
      } while (NextToken);
      return count;
    },
    async setValue(name, value) {
      await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    },
  };
}

export function ssmOutOfBand(ssm: SSMClient): OutOfBand {
  const get = async (name: string) => {
    try {
      return (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
    } catch (e) {
      if (isErr(e, 'ParameterNotFound')) return undefined;
      throw e;
    }
  };
  return {
    async createUnmanaged(name, value) {
      await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
    },
    async readValue(name) {
      return (await get(name))?.Value;
    },
    async isEnabled(name) {
      if (!(await get(name))) return undefined;
      const tags = await ssm.send(
        new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
      );
      return !(tags.TagList ?? []).some((t) => t.Key === 'disabled' && t.Value === 'true');
    },
    async exists(name) {
      return (await get(name)) !== undefined;
    },
    async versionCount(name) {
      if (!(await get(name))) return 0;
      let count = 0;
      let NextToken: string | undefined;
      do {
        const page = await ssm.send(
          new GetParameterHistoryCommand({ Name: name, MaxResults: 50, ...(NextToken ? { NextToken } : {}) }),
        );
        count += page.Parameters?.length ?? 0;
        NextToken = page.NextToken || undefined;
      } while (NextToken);
      return count;
    },
    async setValue(name, value) {
      const current = await get(name);
      await ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: current?.Type ?? 'String',
          Overwrite: true,
        }),
      );
    },
  };
}

export const awsSecretsManagerTarget: StoreTarget = {
  name: 'aws-secrets-manager',
  async start() {
    const moto = await startPeer();
    const oob = new SecretsManagerClient(moto.clientConfig);
    const stores: AwsSecretsManagerStore[] = [];
    return {
      async newStore({ observer }) {
        const counter = dualCounter(observer);
        const store = new AwsSecretsManagerStore({
          region: moto.region,
          environment: 'test',
          endpoint: moto.endpointUrl,
          credentials: moto.credentials,
          observer: counter.observer,
          maxWritesPerSecond: 1000,
          recoveryWindowDays: 7,
          clientFactory: (config: SecretsManagerClientConfig) => {
            const client = new SecretsManagerClient(config);
            countRequests(client, SM_WRITES, counter.sdk);
            return client;
          },
        });
        stores.push(store);
        return { store, outOfBand: secretsManagerOutOfBand(oob), calls: counter.calls };
      },
      async stop() {
        for (const s of stores) await s.close();
        oob.destroy();
        await moto.stop();
      },
    };
  },
};

export const awsSsmTarget: StoreTarget = {
  name: 'aws-ssm-parameter-store',
  async start() {
    const moto = await startPeer();
    const oob = new SSMClient(moto.clientConfig);
    const stores: AwsSsmParameterStore[] = [];
    return {
      async newStore({ observer }) {
        const counter = dualCounter(observer);
        const store = new AwsSsmParameterStore({
          region: moto.region,
          environment: 'test',
          parameterPath: `/smc-contract/${randomBytes(4).toString('hex')}/dev`,
          endpoint: moto.endpointUrl,
          credentials: moto.credentials,
          observer: counter.observer,
          maxWritesPerSecond: 1000,
          clientFactory: (config: SSMClientConfig) => {
            const client = new SSMClient(config);
            countRequests(client, SSM_WRITES, counter.sdk);
            return client;
          },
        });
        stores.push(store);
        return { store, outOfBand: ssmOutOfBand(oob), calls: counter.calls };
      },
      async stop() {
        for (const s of stores) await s.close();
        oob.destroy();
        await moto.stop();
      },
    };
  },
};
