// The no-op handler with its worker thread's CPU profile (bench/functions/mapping.ts, with
// BENCH_CPU_PROFILE): profiling starts at import, and the profile is written once the worker has
// run BENCH_PROFILE_INVOCATIONS invocations (a worker thread is terminated, not exited, so it
// cannot be written at exit). Its environment names the directory and the count.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const dir = process.env.BENCH_PROFILE_DIR;
const stopAt = Number(process.env.BENCH_PROFILE_INVOCATIONS ?? 1000);
const session = new Session();
if (dir) {
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
}
let n = 0;

export const handler = async (_event) => {
  if (dir && ++n === stopAt) {
    session.post('Profiler.stop', (err, out) => {
      if (!err) writeFileSync(join(dir, `worker-${process.env.BENCH_PROFILE_NAME}-${threadId}.cpuprofile`), JSON.stringify(out.profile));
      session.disconnect();
    });
  }
  return undefined;
};
