// What the bench/functions parts share: quantiles, rounding, CPU time of the process, of its main
// thread and of each thread (from /proc), and the test fixtures' paths.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string): string => fileURLToPath(new URL(`../../test/functions/fixtures/${name}`, import.meta.url));

/** The q-quantile of `xs` (nearest rank, as bench/functions/runtime.ts takes it). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

const TICK_S = 0.01; // /proc's clock ticks (USER_HZ 100)

/** CPU seconds used so far: the whole process (every thread) and its main thread alone. */
export function cpuSeconds(): { process: number; main: number } {
  const u = process.cpuUsage();
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { process: (u.user + u.system) / 1e6, main: (Number(fields[11]) + Number(fields[12])) * TICK_S };
}

/** CPU seconds used so far by each thread of this process, by thread id. */
export function threadCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * TICK_S);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
