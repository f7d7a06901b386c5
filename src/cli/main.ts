// The `sluice` command: dev, start, replay, streams, put, tail, functions, invoke, logs, dependencies, keys. The server's
// commands (dev, start, replay) load the engine, gateway and dataflow when they run: the others start without them.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/errors.js';
import { SluiceError } from '../errors.js';
import { CliError } from './client.js';
import { createKey } from './keys.js';
import { listDependencies } from './dependencies.js';
import { describeFunction, invoke, listFunctions, logs } from './functions.js';
import { put } from './put.js';
import { createStream, deleteStream, describeStream, listStreams } from './streams.js';
import { tail } from './tail.js';
import { VERSION } from './version.js';

const int = (name: string, min: number, max: number) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return Number(v);
};

/** Exit codes: 0 done, 1 the command failed (a gateway or engine refused or is unreachable), 2 it was used wrongly (flags, arguments, configuration). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;


function program(): Command {
  const p = new Command('sluice').description('Realtime data pipelines: ingest gateway, durable streams, functions, dataflow')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride(); // commander's usage errors take Sluice's exit code (2), not its own 1
  const server = (c: Command) =>
    c
      .option('-c, --config <file>', 'configuration file (default: ./sluice.config.ts if present)')
      .option('--host <host>', 'interface to bind')
      .option('-p, --port <port>', 'port to listen on (0 picks a free one)', int('port', 0, 65535))
      .option('--data-dir <dir>', 'directory of the embedded engine (default .sluice/data)')
      .option('--engine <engine>', "'sqlite' (default) or NATS servers: nats://host:4222[,nats://…]")
      .option('--log-level <level>', 'fatal, error, warn, info (default; warn with --demo), debug, trace or silent (default $LOG_LEVEL)');
  server(p.command('dev').description('run locally on the embedded engine, bound to 127.0.0.1, open unless keys are configured'))
    .option('--demo', "also run the configuration's demo (dataflow.demo: the campaign-metrics traffic and live table with `npm run demo`); without one, a video-events producer and a live view of what arrives")
    .action(async (o) => (await import('./serve.js')).serve('dev', o));
  server(p.command('start').description('run with production settings; refuses to run without API keys'))
    .option('--insecure', 'run without API keys')
    .action(async (o) => (await import('./serve.js')).serve('start', o));

  p.command('replay <pipeline>')
    .description('recompute a pipeline from retained input: forget its state, rerun from --from until caught up, exit')
    .requiredOption('--from <where>', "'earliest', an ISO time, or epoch milliseconds (arrival time)")
    .option('-c, --config <file>', 'configuration file (default: ./sluice.config.ts if present)')
    .option('--data-dir <dir>', 'directory of the embedded engine (default .sluice/data)')
    .option('--engine <engine>', "'sqlite' (default) or NATS servers: nats://host:4222[,nats://…]")
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug, trace or silent (default $LOG_LEVEL)')
    .action(async (name, o) => (await import('./replay.js')).replay(name, o));

  const client = (c: Command) =>
    c.option('--url <url>', 'gateway URL (default $SLUICE_URL or http://127.0.0.1:4320)').option('--api-key <key>', 'API key (default $SLUICE_API_KEY)');
  const streams = p.command('streams').description('manage streams');
  client(streams.command('create <name>').description('create a stream'))
    .option('--partitions <n>', 'number of partitions (default 4)', int('--partitions', 1, 1024))
    .option('--retention <duration>', "how long records are kept, e.g. '7d' (default 7d)")
    .option('--key-field <field>', 'record field holding the partition key')
    .action((name, o) => createStream(name, { ...o, keyField: o.keyField }));
  client(streams.command('list').description('list streams (not the internal _sluice.* ones of pipelines, unless --all)')).option('--all', 'include internal streams').action((o) => listStreams(o));
  client(streams.command('describe <name>').description('show a stream and its partitions')).action((name, o) => describeStream(name, o));
  client(streams.command('delete <name>').description('delete a stream and its records')).action((name, o) => deleteStream(name, o));

  client(p.command('put <stream> [file]').description('append NDJSON or a JSON array from a file or stdin (-)'))
    .option('--key <key>', 'partition key for every record')
    .option('--batch <n>', 'records per request (default 500)', int('--batch', 1, 10_000))
    .option('--envelope', 'records are envelopes { value, key?, id? }')
    .action((stream, file, o) => put(stream, file, o));
  client(p.command('tail <stream>').description('print records as they arrive, one JSON per line'))
    .option('--from <where>', 'earliest, latest (default), an offset, or an ISO time')
    .option('--partition <n>', 'only this partition', int('--partition', 0, 1023))
    .option('--limit <n>', 'stop after n records', int('--limit', 1, Number.MAX_SAFE_INTEGER))
    .action((stream, o) => tail(stream, o));

  const functions = p.command('functions').description('Lambda-compatible functions');
  client(functions.command('list').description('list functions')).action((o) => listFunctions(o));
  client(functions.command('describe <name>').description("a function's configuration, Lambda's metrics, workers, queue and triggers").option('--json', 'the gateway\'s answer as JSON')).action((name, o) => describeFunction(name, o));
  client(p.command('invoke <function>').description('invoke a function through the Lambda Invoke API; prints its result'))
    .option('--payload <json|@file>', 'the event, JSON or @file (default {})')
    .option('--type <type>', 'RequestResponse (default), Event or DryRun')
    .option('--log', "print the invocation's log tail to stderr")
    .action((name, o) => invoke(name, o));
  client(p.command('logs <function>').description("print a function's invocation logs (START, lines, END, REPORT)"))
    .option('--follow', 'keep printing new invocations')
    .option('--request-id <id>', 'only this invocation')
    .option('--limit <n>', 'the last n invocations (default 20)', int('--limit', 1, 1000))
    .action((name, o) => logs(name, o));

  client(p.command('dependencies').description('per dependency (PostgreSQL, webhooks, NATS): calls, attempts, retries, failures, budget refusals, circuit breaker'))
    .option('--json', "the gateway's answer as JSON")
    .action((o) => listDependencies(o));

  const keys = p.command('keys').description('API keys');
  keys.command('create <id>').description('make an API key and print its config entry')
    .option('--scope <pattern=actions...>', "what the key may do (required, repeatable): 'events=write', 'metrics-*=read,write', '*=admin'", (v: string, prev: string[] = []) => [...prev, v])
    .action((id, o) => createKey(id, o.scope ?? []));
  return p;
}

/** Runs the CLI; errors print one clear line and set the exit code (EXIT_USAGE for usage and config, EXIT_FAILED otherwise). */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander printed its message already; --help and --version are not errors
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const code = e instanceof CliError ? e.exitCode : e instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
    const message = e instanceof CliError || e instanceof ConfigError || e instanceof SluiceError ? e.message : ((e as Error).stack ?? String(e));
    process.stderr.write(`sluice: ${message}\n`);
    process.exitCode = code;
  }
}
