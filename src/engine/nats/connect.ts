// Connecting to a NATS cluster with JetStream: servers, reconnects, credentials, TLS, and clear
// errors when the cluster is unreachable or JetStream is off.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { EngineUnavailableError, InvalidArgumentError } from '../errors.js';
import type { NatsPolicyOptions } from './requests.js';

export const DEFAULT_PREFIX = 'sluice';
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface NatsEngineConfig {
  kind: 'nats';
  /** Server URLs, e.g. 'nats://10.0.0.1:4222'. */
  servers: string | string[];
  /** JetStream replicas of every stream and bucket: 1, or 3 to survive a node loss. Default 1. */
  replicas?: number;
  /** Names all JetStream streams and buckets, so deployments can share a cluster. Default 'sluice'. */
  prefix?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** An nkey seed ('SU…') for nkey authentication. */
  nkeySeed?: string;
  /** A .creds file (JWT + nkey) for decentralised authentication. */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** JetStream API and publish timeout. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long the first connection may take. Default 5 s. */
  connectTimeoutMs?: number;
  /** The 'nats' dependency's policies, field by field over their defaults (see NatsRequestsOptions); plain data, so a config crosses to worker threads. */
  policies?: NatsPolicyOptions;
}

export function checkNatsConfig(c: NatsEngineConfig): void {
  const servers = Array.isArray(c.servers) ? c.servers : [c.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new InvalidArgumentError('engine.servers must list at least one NATS server URL', 'servers');
  }
  if (c.replicas !== undefined && ![1, 2, 3, 4, 5].includes(c.replicas)) {
    throw new InvalidArgumentError(`engine.replicas must be 1 to 5 (1 or 3 usually), got ${c.replicas}`, 'replicas');
  }
  if (c.prefix !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(c.prefix)) {
    throw new InvalidArgumentError('engine.prefix must be 1-32 letters, digits, _ or -', 'prefix');
  }
}

/** Connects and checks JetStream; EngineUnavailableError says which of the two failed. */
export async function connectJetStream(c: NatsEngineConfig): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  checkNatsConfig(c);
  const servers = Array.isArray(c.servers) ? c.servers : [c.servers];
  const opts: NodeConnectionOptions = {
    servers,
    name: 'sluice',
    timeout: c.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(c.user !== undefined ? { user: c.user, pass: c.pass } : {}),
    ...(c.token !== undefined ? { token: c.token } : {}),
  };
  if (c.nkeySeed) opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(c.nkeySeed));
  if (c.credsFile) opts.authenticator = credsAuthenticator(readFileSync(c.credsFile));
  if (c.tls) opts.tls = c.tls;
  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (e) {
    throw new EngineUnavailableError(`cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: c.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
    return { nc, jsm };
  } catch (e) {
    await nc.close();
    throw new EngineUnavailableError(`JetStream is not enabled on NATS at ${servers.join(', ')} (start nats-server with -js): ${(e as Error).message}`, { cause: e });
  }
}
