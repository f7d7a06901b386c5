#!/usr/bin/env node
// The `sluice` command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
import '../dist/cli/bin.js';
