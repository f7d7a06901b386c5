// The script of a function's child process: the shared in-worker runtime over the IPC channel. The
// process ends when the channel closes (the pool, or Sluice, went away).
import { runWorker } from './invoker.js';
import type { MainMessage } from './protocol.js';

runWorker({
  send: (m) => process.send!(m),
  onMessage: (listener) => process.on('message', (m: MainMessage) => listener(m)),
});
process.on('disconnect', () => process.exit(0));
