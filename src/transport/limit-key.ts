import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whom per-user counts and rates (connections, subscriptions per user, `sendMessage` rate)
 * are kept for: the user with authentication; without it, where every caller is the user
 * `local`, the client's address, so that one browser tab or load-test client cannot use up
 * everyone's budget. Ownership (whose sessions a caller sees) is the user id either way;
 * this key only counts.
 *
 * The address is the TCP peer's (the socket's `remoteAddress`). `X-Forwarded-For` is not
 * read: any client could write it. Behind a reverse proxy every client has the proxy's
 * address, so such a deployment should authenticate.
 */
export function limitKey(authenticated: boolean, userId: string, remoteAddress: string | undefined): string {
  return authenticated ? `user:${userId}` : `addr:${addressKey(remoteAddress)}`;
}

/**
 * One client's address, as counted: an IPv4 address as itself, also when it arrives in its
 * IPv4-mapped IPv6 form (`::ffff:127.0.0.2` on a dual-stack socket); an IPv6 address by its
 * /64 prefix, the block one host is usually given and can pick addresses from at will (privacy
 * addresses rotate inside it). No address (the socket already closed): one shared key.
 */
export function addressKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const address = remoteAddress.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) is not part of it
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  // ::ffff:7f00:2, the same mapped address written in hex.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return '::1'; // loopback: one host
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing IPv4 part). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
