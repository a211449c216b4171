/**
 * `msmctl suspend|resume NAME` (spec.suspend: no reconcile at all while true) and
 * `msmctl suspend-git-pulls|resume-git-pulls NAME` (spec.suspendGitPulls: the controller suspends
 * the referenced Flux source).
 */
import type { Command } from 'commander';
import { addKubeOptions, connect, type KubeOptions } from '../kube.js';
import { writeLines } from '../output.js';
import { getSmc, patchSmc, smcLabel } from '../smc-api.js';

interface Toggle {
  command: string;
  field: 'suspend' | 'suspendGitPulls';
  value: boolean;
  description: string;
  done: string;
}

const TOGGLES: Toggle[] = [
  {
    command: 'suspend',
    field: 'suspend',
    value: true,
    description: 'stop reconciling a SecretManagerConfig (spec.suspend: true)',
    done: 'suspended',
  },
  {
    command: 'resume',
    field: 'suspend',
    value: false,
    description: 'resume reconciling a SecretManagerConfig (spec.suspend: false)',
    done: 'resumed',
  },
  {
    command: 'suspend-git-pulls',
    field: 'suspendGitPulls',
    value: true,
    description: 'suspend the source of a SecretManagerConfig (spec.suspendGitPulls: true)',
    done: 'git pulls suspended',
  },
  {
    command: 'resume-git-pulls',
    field: 'suspendGitPulls',
    value: false,
    description: 'resume the source of a SecretManagerConfig (spec.suspendGitPulls: false)',
    done: 'git pulls resumed',
  },
];

export function registerSuspend(program: Command): void {
  for (const t of TOGGLES) {
    addKubeOptions(
      program.command(t.command).description(t.description).argument('<name>', 'SecretManagerConfig name'),
    ).action(async (name: string, opts: KubeOptions) => {
      const k = connect(opts);
      const what = smcLabel(k.namespace, name);
      const before = await getSmc(k, name);
      if ((before.spec?.[t.field] === true) === t.value) {
        writeLines(process.stdout, `${what}: already ${t.done} (spec.${t.field}: ${t.value})`);
        return;
      }
      await patchSmc(k, name, { spec: { [t.field]: t.value } });
      writeLines(process.stdout, `${what}: ${t.done} (spec.${t.field}: ${t.value})`);
    });
  }
}
