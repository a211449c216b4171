/** Cloud emulator peers for tests: start one, use its official-SDK client, stop it. */
export { startGcpSecretManager, type GcpSecretManagerPeer, type GcpStartOptions } from './gcp.js';
export { startMoto, type MotoPeer, type MotoStartOptions } from './aws.js';
export {
  PeerStartError,
  ensurePeer,
  freePort,
  uniqueSuffix,
  startPeerProcess,
  type CloudPeer,
} from './process.js';
