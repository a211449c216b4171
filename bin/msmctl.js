#!/usr/bin/env node
import { requireNodeVersion } from './node-version.js';

requireNodeVersion('msmctl');
await import('../dist/cli/msmctl.js');
