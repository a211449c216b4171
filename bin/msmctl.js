#!/usr/bin/env node
import '../dist/cli/msmctl.js';
