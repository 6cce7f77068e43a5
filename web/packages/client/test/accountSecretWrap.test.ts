// A passkey account's secret wrapped for the vault to keep: opened only with the same passkey
// output or recovery code, for the same account and credential, and trusted only when it derives
// the account's address and published key.
import { describe, expect, it } from 'vitest';
import {
  accountEncryptionKey,
  accountOf,
  checkAccountSecret,
  formatRecoveryCode,
  newAccountSecret,
  newRecoveryCode,
  parseRecoveryCode,
  unwrapFromPasskey,
  unwrapFromRecovery,
  wrapForPasskey,
  wrapForRecovery,
} from '../src/index.ts';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe('the wrapped account secret', () => {
  it('opens under the same passkey output, account and credential, and no other', async () => {
    const secret = newAccountSecret();
    const { address } = accountOf(secret);
    const [prf, credential] = [random(32), random(16)];
    const sealed = await wrapForPasskey(secret, prf, address, credential);
    expect(await unwrapFromPasskey(sealed, prf, address, credential)).toEqual(secret);
    await expect(unwrapFromPasskey(sealed, random(32), address, credential)).rejects.toThrow();
    await expect(unwrapFromPasskey(sealed, prf, accountOf(newAccountSecret()).address, credential)).rejects.toThrow();
    await expect(unwrapFromPasskey(sealed, prf, address, random(16))).rejects.toThrow();
    await expect(wrapForPasskey(secret, random(8), address, credential)).rejects.toThrow(/too little key material/);
  });

  it('opens under the recovery code as she types it, and says so in words when it does not', async () => {
    const secret = newAccountSecret();
    const { address } = accountOf(secret);
    const code = newRecoveryCode();
    expect(code.text).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
    const sealed = await wrapForRecovery(secret, code, address);
    // Lower case, spaces instead of dashes, O for 0 and l for 1: still her code.
    const typed = code.text.toLowerCase().replaceAll('-', ' ').replaceAll('0', 'o').replaceAll('1', 'l');
    expect(await unwrapFromRecovery(sealed, parseRecoveryCode(typed), code.id, address)).toEqual(secret);
    const other = newRecoveryCode();
    await expect(unwrapFromRecovery(sealed, other.bytes, code.id, address)).rejects.toThrow(
      'That recovery code does not open this account',
    );
    expect(() => parseRecoveryCode(code.text.slice(0, 30))).toThrow(/not a whole recovery code/);
    expect(() => parseRecoveryCode(`${code.text.slice(0, -1)}U`)).toThrow(/not a whole recovery code/);
    expect(formatRecoveryCode(parseRecoveryCode(code.text))).toBe(code.text);
  });

  it("trusts a secret only when it derives the account's address and published key", async () => {
    const secret = newAccountSecret();
    const { address } = accountOf(secret);
    const published = { publicKey: (await accountEncryptionKey(secret, 1)).publicKey, epoch: 1 };
    await expect(checkAccountSecret(secret, address, published)).resolves.toBeUndefined();
    await expect(checkAccountSecret(secret, address, undefined)).resolves.toBeUndefined();
    // A vault serving another account's secret, or a key of another epoch, is refused.
    await expect(checkAccountSecret(newAccountSecret(), address, published)).rejects.toThrow(/another account/);
    await expect(checkAccountSecret(secret, address, { ...published, epoch: 0 })).rejects.toThrow(
      /does not match your published key/,
    );
  });
});
