// The script of a function's worker thread: the shared in-worker runtime over the parent port.
import { parentPort, workerData } from 'node:worker_threads';
import { runWorker } from './invoker.js';
import type { MainMessage } from './protocol.js';

const port = parentPort!;
runWorker(
  {
    send: (m) => port.postMessage(m),
    onMessage: (listener) => port.on('message', (m: MainMessage) => listener(m)),
  },
  { preloadTs: (workerData as { preloadTs?: boolean } | null)?.preloadTs === true },
);
