/**
 * URL prefixes the sync server owns. The server answers them itself (never with the web app's page), the service
 * worker never serves the cached app shell for them, and the Vite dev server proxies them: one list for all three.
 */
export const SERVER_PATH_PREFIXES = [
  '/auth/',
  '/api/',
  '/sync/',
  '/storage/',
  '/webhooks/',
  '/push/',
  '/a/',
  '/healthz',
  '/config.json',
] as const;

export function isServerPath(pathname: string): boolean {
  return SERVER_PATH_PREFIXES.some((prefix) => pathname.startsWith(prefix));
}
