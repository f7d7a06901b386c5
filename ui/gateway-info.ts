// What the dashboard knows of the gateway it is served by: the engine kind (from /readyz, which
// needs no key) decides whether offsets count records (sqlite: 0, 1, 2…; nats: they jump).
let engineKind: string | undefined;

export async function loadGatewayInfo(): Promise<{ engine?: string }> {
  try {
    const res = await fetch('/readyz', { cache: 'no-store' });
    const body = (await res.json()) as { engine?: string };
    engineKind = body.engine;
  } catch {
    // the sidebar just shows less
  }
  return { engine: engineKind };
}

/** True when offsets are contiguous, so next − earliest is a count of records. */
export const offsetsCount = (): boolean => engineKind === 'sqlite';
