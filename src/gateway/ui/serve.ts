// The dashboard's static files at /ui (built into dist/ui by `npm run build`).
import { sendJson, type GatewayRequest, type GatewayResponse } from '../request.js';

/** Serves a file of the dashboard; until it is built, a 404 saying so. */
export function serveUi(_req: GatewayRequest, res: GatewayResponse, _path: string): void {
  sendJson(res, 404, { error: { code: 'NotFound', message: 'the dashboard is not built: run npm run build' } });
}
