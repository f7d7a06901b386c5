// How often pages read the gateway again: the server samples its series every 5 s.
export const REFRESH_MS = 5_000;
