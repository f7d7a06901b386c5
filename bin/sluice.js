#!/usr/bin/env node
// The `sluice` command: runs the compiled CLI (built by `npm run build`, run on `npm ci`).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`sluice: ${err?.message ?? err}\n`);
  process.exit(1);
});
