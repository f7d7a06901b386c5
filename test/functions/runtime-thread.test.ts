// The thread runtime passes the function runtime conformance suite.
import { threadRuntime } from '../../src/functions/runtime/thread.js';
import { runtimeConformance } from './runtime-conformance.js';

runtimeConformance('thread', threadRuntime);
