/**
 * Provider calls per created value, per changed value and per re-verified unchanged entry, for every
 * cloud store type (docs/performance.md, "Store calls"). Each store runs against the peer its store
 * contract uses (drongo for GCP Secret Manager, moto for AWS, the labelled fakes for GCP Parameter
 * Manager and Azure), counted by the store's observer and checked against the wire or the SDK. The
 * scenario (test/stores/contract/call-budget.ts) grows an owner from `--small` to `--large` entries and
 * changes `--changed` values; figures are slopes, so listing what an owner holds is not charged to
 * any entry. Run: `npm run bench:store-calls -- [--small 3] [--large 10] [--changed 2] [--only gcp,aws]`.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { ProviderCall } from '../src/stores/store.js';
import { CALL_BUDGET, measureCalls, type CallFigures } from '../test/stores/contract/call-budget.js';
import { awsSecretsManagerTarget, awsSsmTarget } from '../test/stores/contract/aws-targets.js';
import { azureAppConfigurationTarget } from '../test/stores/contract/targets/azure-app-configuration.js';
import { azureKeyVaultTarget } from '../test/stores/contract/targets/azure-keyvault.js';
import { gcpParameterManagerTarget, gcpSecretManagerTarget } from '../test/stores/contract/targets/gcp.js';
import type { StoreTarget } from '../test/stores/contract/target.js';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '3' },
    large: { type: 'string', default: '10' },
    changed: { type: 'string', default: '2' },
    only: { type: 'string' },
  },
});
const sizes = { small: Number(args.small), large: Number(args.large), changed: Number(args.changed) };

const TARGETS: [string, StoreTarget][] = [
  ['gcp', gcpSecretManagerTarget()],
  ['gcp-pm', gcpParameterManagerTarget()],
  ['aws', awsSecretsManagerTarget],
  ['ssm', awsSsmTarget],
  ['azure-keyvault', azureKeyVaultTarget],
  ['appconfig', azureAppConfigurationTarget],
];
const only = args.only?.split(',');

const rows: { type: string; peer: string; f: CallFigures }[] = [];
for (const [type, target] of TARGETS) {
  if (only && !only.includes(type)) continue;
  const started = await target.start();
  try {
    const seen: ProviderCall[] = [];
    const sut = await started.newStore({ observer: { onCall: (c) => void seen.push(c) } });
    const tag = randomBytes(3).toString('hex');
    const f = await measureCalls(
      {
        store: sut.store,
        owner: { namespace: `bench-${tag}`, name: 'calls' },
        prefix: `b${tag}`,
        seen,
        agree: () => void sut.calls.reads(),
        value: (t) => `bench-${t}-${tag}`,
      },
      sizes,
    );
    await sut.store.close?.();
    rows.push({ type, peer: target.fake ? 'fake' : 'emulator', f });
  } finally {
    await started.stop();
  }
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const ops = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
console.log(
  `entries ${sizes.small} → ${sizes.large}, ${sizes.changed} changed; budget: ≤ ${CALL_BUDGET.perChangedValue} per changed value, ≤ ${CALL_BUDGET.perVerifiedEntry} per verified entry\n`,
);
console.log(
  '| store | peer | per created value | per changed value | per verified entry | unchanged pass (small / large) |',
);
console.log('|---|---|---|---|---|---|');
for (const { type, peer, f } of rows) {
  console.log(
    `| ${type} | ${peer} | ${fmt(f.create)} | ${fmt(f.change)} | ${fmt(f.verify)} | ${f.unchangedSmall} / ${f.unchangedLarge} |`,
  );
}
console.log('\nCalls by operation (unchanged large pass; pass with changed values):');
for (const { type, f } of rows) console.log(`  ${type}: ${ops(f.verifyPass)}; ${ops(f.changedPass)}`);
