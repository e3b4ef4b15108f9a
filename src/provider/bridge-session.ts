/**
 * Identity of page requests across service-worker restarts: the bridge tags each request with
 * a key unique to this page load, and reconnects its port after a drop — at once when requests
 * are waiting for answers, after a short pause otherwise (to keep events flowing without
 * hammering a worker that is being stopped).
 */
export const RECONNECT_IDLE_DELAY_MS = 1_000;

export function bridgeRequestKey(pageSession: string, requestId: number): string {
  return `${pageSession}:${requestId}`;
}

export function reconnectDelayMs(unansweredRequests: number): number {
  return unansweredRequests > 0 ? 0 : RECONNECT_IDLE_DELAY_MS;
}
