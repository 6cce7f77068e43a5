// What she reads when a wallet request fails.
import { describe, expect, it } from 'vitest';

describe('a request she turns down in her wallet', () => {
  it('is said plainly, through viem’s wrapping', async () => {
    const { errorWords } = await import('@medkey/app-shell');
    const { UserRejectedRequestError } = await import('viem');
    const declined = new Error('signing failed', { cause: new UserRejectedRequestError(new Error('User denied')) });
    expect(errorWords(declined)).toBe('You declined in your wallet. Nothing was signed or sent.');
    expect(errorWords(Object.assign(new Error('x'), { code: 4001 }))).toMatch(/^You declined/);
    expect(errorWords(new Error('The vault is unreachable.'))).toBe('The vault is unreachable.');
  });
});
