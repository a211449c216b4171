import { awsSsmTarget } from './aws-targets.js';
import { runStoreContract } from './suite.js';

runStoreContract(awsSsmTarget);
