import { describe, expect, it } from 'vitest';
import { addressKey, limitKey } from '../../src/transport/limit-key.js';

describe('limitKey', () => {
  it('is the user with authentication, the address without', () => {
    expect(limitKey(true, 'alice', '127.0.0.2')).toBe(limitKey(true, 'alice', '127.0.0.3'));
    expect(limitKey(true, 'alice', '127.0.0.2')).not.toBe(limitKey(true, 'bob', '127.0.0.2'));
    expect(limitKey(false, 'local', '127.0.0.2')).not.toBe(limitKey(false, 'local', '127.0.0.3'));
  });

  it('counts an IPv4 address the same in its IPv4-mapped IPv6 forms', () => {
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('::ffff:7f00:2')).toBe('127.0.0.2');
    expect(addressKey('0:0:0:0:0:ffff:7f00:2')).toBe('127.0.0.2');
  });

  it('counts an IPv6 address by its /64, the block one host picks its addresses from', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe(addressKey('2001:db8:1:2::9'));
    expect(addressKey('2001:db8:1:2::9')).not.toBe(addressKey('2001:db8:1:3::9'));
    expect(addressKey('2001:DB8:1:2::1')).toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('fe80::1%eth0')).toBe(addressKey('fe80::2'));
    expect(addressKey('::1')).toBe('::1');
    expect(addressKey(undefined)).toBe('unknown');
  });
});
