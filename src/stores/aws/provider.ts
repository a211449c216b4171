/**
 * The AWS stores' face (src/stores/provider.ts): Secrets Manager (`aws`) and SSM Parameter Store
 * (`ssm`), from `--store` or from an SMC's `provider.aws` (configs in Parameter Store).
 */
import { SmcError } from '../../errors.js';
import { PATTERNS as P, matches, refuseTarget, splitTarget } from '../cli-target.js';
import type { SmcOpenContext, StoreProvider } from '../provider.js';
import type { AwsAccessKeys, AwsAuth } from './credentials.js';
import { AWS_SECRET_LIMITS, SSM_LIMITS, awsNaming, ssmNaming } from './naming.js';

// The store modules (and the AWS SDK clients under them: module text and compiled code that stay
// in memory, docs/performance.md "Memory") are imported on first use, not at start: a controller
// or msmctl that never writes to AWS never loads them. The registry only needs this file's names.
const secretsManager = () => import('./secrets-manager.js');
const parameterStore = () => import('./ssm.js');

/** Keys of the credentials Secret (`auth.type: accessKeys`, or `assumeRole` with a source identity). */
export const AWS_ACCESS_KEY_ID = 'AWS_ACCESS_KEY_ID';
export const AWS_SECRET_ACCESS_KEY = 'AWS_SECRET_ACCESS_KEY';
export const AWS_SESSION_TOKEN = 'AWS_SESSION_TOKEN';

function awsRegion(region: string): string {
  if (!matches(P.AWS_REGION, region)) refuseTarget(`"${region}" is not an AWS region (e.g. eu-central-1)`);
  return region;
}

/**
 * How the SMC's stores authenticate (`provider.aws.auth`), with keys from its Secret when named;
 * `identity` names those credentials for the client cache (the keys object, cached per Secret
 * version, compared by identity — never the keys themselves).
 */
async function awsAuth(ctx: SmcOpenContext): Promise<{ auth: AwsAuth; identity: unknown[] }> {
  const a = ctx.spec.provider.aws!.auth;
  if (a.type === 'accessKeys' || (a.type === 'assumeRole' && a.secretRef)) {
    const ref = a.secretRef;
    if (!ref) {
      throw new SmcError(
        'InvalidSpec',
        'spec.provider.aws.auth.secretRef: must be set when type is accessKeys',
      );
    }
    const keys = await ctx.credential(ref, 'spec.provider.aws.auth.secretRef', a, (data, where) => {
      for (const k of [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]) {
        if (!data[k]) throw new SmcError('InvalidSpec', `${where} has no non-empty key ${k}`);
      }
      const out: AwsAccessKeys = {
        accessKeyId: data[AWS_ACCESS_KEY_ID]!,
        secretAccessKey: data[AWS_SECRET_ACCESS_KEY]!,
        ...(data[AWS_SESSION_TOKEN] ? { sessionToken: data[AWS_SESSION_TOKEN] } : {}),
      };
      return out;
    });
    return a.type === 'accessKeys'
      ? { auth: { type: 'accessKeys', ...keys }, identity: [a.type, keys] }
      : {
          auth: { type: 'assumeRole', roleArn: a.roleArn ?? '', source: keys },
          identity: [a.type, a.roleArn ?? '', keys],
        };
  }
  if (a.type === 'assumeRole') {
    return { auth: { type: 'assumeRole', roleArn: a.roleArn ?? '' }, identity: [a.type, a.roleArn ?? ''] };
  }
  return { auth: { type: 'default' }, identity: ['default'] };
}

export const awsProvider: StoreProvider = {
  name: 'aws',
  kinds: [
    {
      type: 'aws',
      naming: awsNaming,
      limits: AWS_SECRET_LIMITS,
      cli: {
        scheme: 'aws',
        help: ['aws:REGION                AWS Secrets Manager'],
        parse: (target) => {
          const { first, remainder } = splitTarget(target);
          if (remainder !== undefined) refuseTarget('expected aws:REGION');
          return { region: awsRegion(first) };
        },
        open: async (t, ctx) =>
          new (await secretsManager()).AwsSecretsManagerStore({
            region: t.region!,
            environment: ctx.environment,
          }),
      },
    },
    {
      type: 'ssm',
      naming: (opts) => ssmNaming(opts.parameterPath ?? ''),
      limits: SSM_LIMITS,
      cli: {
        scheme: 'ssm',
        help: [
          'ssm:REGION[/PATH]         AWS SSM Parameter Store under PATH (default /<prefix>/<environment>)',
        ],
        parse: (target) => {
          const { first, remainder } = splitTarget(target);
          const path = remainder === undefined ? undefined : `/${remainder}`;
          if (path !== undefined && !matches(P.SSM_PATH, path)) {
            refuseTarget(
              `"${path}" is not an SSM path (segments of letters, digits, _ . -, e.g. /my-service/prod)`,
            );
          }
          return { region: awsRegion(first), path };
        },
        open: async (t, ctx) =>
          new (await parameterStore()).AwsSsmParameterStore({
            region: t.region!,
            environment: ctx.environment,
            parameterPath: t.path ?? `/${ctx.prefix ?? 'default'}/${ctx.environment}`,
          }),
      },
    },
  ],
  openForSmc: {
    provider: 'aws',
    allowlist: { syntax: 'aws/<accountId>/<region>', segments: (t) => [t.accountId, t.region] },
    async open(ctx) {
      const { spec } = ctx;
      const region = spec.provider.aws!.region;
      const environment = spec.secrets.environment;
      ctx.allow({ provider: 'aws', region }, `AWS region ${region}`);
      const { auth, identity } = await awsAuth(ctx);
      const common = {
        region,
        environment,
        auth,
        maxWritesPerSecond: ctx.maxWritesPerSecond,
        ...ctx.overrides,
      };
      // One client per service, region and credentials, shared across reconciles and SMCs.
      const client = (service: string) => ctx.clients?.(['aws', service, region, ...identity]);
      const { AwsSecretsManagerStore } = await secretsManager();
      const secretStore = new AwsSecretsManagerStore({
        ...common,
        observer: ctx.observer('aws'),
        client: client('secretsmanager'),
      });
      if (!spec.configs.enabled) return { secretStore };
      const parameterPath =
        spec.configs.parameterPath ??
        (spec.secrets.prefix ? `/${spec.secrets.prefix}/${environment}` : `/${environment}`);
      const configStore = new (await parameterStore()).AwsSsmParameterStore({
        ...common,
        parameterPath,
        observer: ctx.observer('ssm'),
        client: client('ssm'),
      });
      return { secretStore, configStore };
    },
  },
};
