// bench/functions: every part, each in a process of its own (one JSON line each, as the parts print
// them) — runtime.ts (the thread runtime against a direct call, cold starts, timeout accuracy),
// mapping.ts (stream-triggered, batch 1 / 100 / 1,000, against reading the engine) and invoke.ts
// (the Invoke API against a bare node:http echo).
//   npm run bench:functions                    (every part)
//   npm run bench:functions -- mapping invoke  (those parts; or BENCH_PARTS=mapping,invoke; each part's own env)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ALL = ['runtime', 'mapping', 'invoke'];
const args = process.argv.slice(2);
const PARTS = args.length > 0 ? args : (process.env.BENCH_PARTS ?? ALL.join(',')).split(',');
const unknown = PARTS.filter((p) => !ALL.includes(p));
if (unknown.length > 0) {
  console.error(`bench/functions: unknown part ${unknown.join(', ')} (the parts: ${ALL.join(', ')})`);
  process.exit(2);
}
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

for (const part of PARTS) {
  const script = fileURLToPath(new URL(`./${part}.ts`, import.meta.url));
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, ['--import', TSX, script], { stdio: 'inherit' }).on('exit', resolve));
  if (code !== 0) {
    console.error(`bench/functions/${part} exited ${code}`);
    process.exitCode = 1;
  }
}
