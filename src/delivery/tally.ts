/**
 * One transport's subscriptions, as plain numbers: the delivery path bumps a field (no label
 * lookup, no object, no call into prom-client per message) and the metrics registry reads
 * them at a scrape (observability/metrics.ts).
 */
export class DeliveryTally {
  /** Subscriptions open now. */
  active = 0;
  /** Subscription payloads sent. */
  delivered = 0;
}

/**
 * Where every subscription payload that leaves the server is counted, per transport: the
 * graphql-ws socket writer (delivery/socket-stream.ts) and Yoga's SSE streams
 * (delivery/stream-metrics.ts). One per app, so several apps in one process do not count into
 * each other.
 */
export class Deliveries {
  readonly ws = new DeliveryTally();
  /** Yoga's own SSE and both graphql-sse modes. */
  readonly sse = new DeliveryTally();
}
