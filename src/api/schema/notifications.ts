/** `spec.notifications`: drift and failure notifications through Flux notification-controller or Argo CD. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { objectRef, pattern, singleLine } from './fields.js';

const ArgoSubscriptionSchema = z
  .strictObject({
    service: pattern(P.ARGO_NOTIFICATION_NAME, 'must be an Argo CD notification service name', 63).describe(
      'Argo CD notification service, e.g. `slack`.',
    ),
    channel: singleLine(512).describe('Recipient for the service, e.g. a Slack channel.'),
    trigger: pattern(P.ARGO_NOTIFICATION_NAME, 'must be an Argo CD notification trigger name', 63).describe(
      'Argo CD notification trigger, e.g. `on-sync-failed`.',
    ),
  })
  .describe('One Argo CD notification subscription.');

export const NotificationsSchema = z
  .strictObject({
    fluxcd: z
      .strictObject({
        providerRef: objectRef('Flux notification Provider', "the SecretManagerConfig's namespace").describe(
          'Flux notification Provider that drift and failure events are forwarded through.',
        ),
      })
      .optional()
      .describe('Forward drift and failure events through Flux notification-controller.'),
    argocd: z
      .strictObject({
        subscriptions: z
          .array(ArgoSubscriptionSchema)
          .min(1)
          .max(32)
          .describe(
            'Subscriptions set as `notifications.argoproj.io/subscribe.<trigger>.<service>: <channel>` ' +
              'annotations on the Argo CD Application.',
          ),
      })
      .optional()
      .describe('Argo CD notifications on drift (sourceRef.kind Application only).'),
  })
  .describe('Where drift and failure notifications go.');
