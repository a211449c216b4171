/** `spec.hotReload`: live reload of the controller's settings ConfigMap, and which workloads a changed sync reloads. */
import { z } from 'zod';
import { DEFAULT_SETTINGS_CONFIGMAP } from '../constants.js';
import { namespaceName, objectName } from './fields.js';

/** `spec.hotReload.workloads` (docs/hot-reload.md). */
export const WORKLOAD_RELOAD_MODES = ['auto', 'annotated', 'off'] as const;

export const HotReloadSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'While any SecretManagerConfig has this enabled, the controller watches the settings ConfigMap ' +
          'and applies changes live, without a restart.',
      ),
    configMapName: objectName()
      .default(DEFAULT_SETTINGS_CONFIGMAP)
      .describe('Controller settings ConfigMap to watch.'),
    configMapNamespace: namespaceName()
      .optional()
      .describe("Namespace of the settings ConfigMap. Default: the controller's namespace."),
    workloads: z
      .enum(WORKLOAD_RELOAD_MODES)
      .default('annotated')
      .describe(
        'Which workloads a sync that changed values reloads (docs/hot-reload.md). `annotated`: those ' +
          'whose `secret-management.octopilot.io/reload` annotation names this SecretManagerConfig. ' +
          '`auto` (provider `kubernetes`): every Deployment, StatefulSet, DaemonSet and Argo Rollout of ' +
          'the namespace whose pod template reads a changed key in a way that cannot update live ' +
          '(env var, envFrom, subPath mount) is restarted once per change-set; those that mount the ' +
          'Secret as a volume are only notified. Other providers keep `annotated`. `off`: none.',
      ),
  })
  .describe('Controller-level hot reload of the settings ConfigMap, and workload reload after a sync.');
