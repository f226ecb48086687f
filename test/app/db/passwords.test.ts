import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../../src/app/db/passwords.ts';

describe('passwords', () => {
  it('hashes into scrypt$N$r$p$salt$hash and verifies', async () => {
    const stored = await hashPassword('correct horse');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsE', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', b)).toBe(true);
  });

  it('treats Unicode compositions of the same text as the same password', async () => {
    const stored = await hashPassword('caf\u00e9');
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  it('honours the cost parameters stored with the hash', async () => {
    const stored = await hashPassword('pw');
    // Verifying with the stored N must work even if the default N changes later.
    const [, , r, p, salt, hash] = stored.split('$');
    expect(await verifyPassword('pw', ['scrypt', '16384', r, p, salt, hash].join('$'))).toBe(true);
    expect(await verifyPassword('pw', ['scrypt', '8192', r, p, salt, hash].join('$'))).toBe(false);
  });

  it('answers false, not an exception, for malformed or hostile stored values', async () => {
    const stored = await hashPassword('pw');
    const [, , r, p, salt, hash] = stored.split('$');
    for (const bad of [
      '',
      'plaintext',
      'bcrypt$10$abc',
      stored.replace('scrypt', 'scryp'),
      ['scrypt', '1000', r, p, salt, hash].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), r, p, salt, hash].join('$'), // would need 128 GiB
      ['scrypt', '16384', r, p, '', hash].join('$'),
      ['scrypt', '16384', r, p, salt, 'c2hvcnQ='].join('$'), // hash too short
    ]) {
      expect(await verifyPassword('pw', bad)).toBe(false);
    }
  });
});
