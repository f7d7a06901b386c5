// The child-process runtime passes the function runtime conformance suite.
import { processRuntime } from '../../src/functions/runtime/process.js';
import { runtimeConformance } from './runtime-conformance.js';

runtimeConformance('process', processRuntime);
