// The wallet-signature key: the same wallet gives the same key, another account's signature or
// a mangled one is refused, both signature encodings agree, and a wallet that does not sign
// deterministically is caught on first use.

import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToHex, hexToBytes, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { deriveEncryptionKey, keyFromSignature, MedkeyError, walletKeyStatement, Wallet } from '../src/index.ts';
import { testWallet } from './testWallet.ts';

const alice = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const bob = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');

describe('wallet-signature keys', () => {
  it('come out the same from the same wallet, and differ between wallets', async () => {
    const sign = (a: typeof alice) => a.signMessage({ message: walletKeyStatement(a.address) });
    const a1 = await keyFromSignature(alice.address, await sign(alice));
    const a2 = await keyFromSignature(alice.address, await sign(alice));
    const b1 = await keyFromSignature(bob.address, await sign(bob));
    expect(a1.secret).toEqual(a2.secret);
    expect(a1.publicKey).not.toEqual(b1.publicKey);
  });

  it("refuse another account's signature and a mangled one", async () => {
    const bobs = await bob.signMessage({ message: walletKeyStatement(alice.address) });
    await expect(keyFromSignature(alice.address, bobs)).rejects.toMatchObject({ code: 'wrong_signer' });
    await expect(keyFromSignature(alice.address, bobs.slice(0, 130) as Hex)).rejects.toMatchObject({
      code: 'malformed_signature',
    });
  });

  it('agree for v as 0/1 or 27/28, and for the high-s form of the signature', async () => {
    const signature = await alice.signMessage({ message: walletKeyStatement(alice.address) });
    const want = (await keyFromSignature(alice.address, signature)).secret;
    const bytes = hexToBytes(signature);
    const zeroOne = bytes.slice();
    zeroOne[64]! -= 27;
    expect((await keyFromSignature(alice.address, bytesToHex(zeroOne))).secret).toEqual(want);
    const high = bytes.slice();
    const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
    high.set(hexToBytes(`0x${(secp256k1.CURVE.n - s).toString(16).padStart(64, '0')}`), 32);
    high[64] = bytes[64] === 27 ? 28 : 27;
    expect((await keyFromSignature(alice.address, bytesToHex(high))).secret).toEqual(want);
  });

  it('are refused, with what to do, when the wallet signs the same text differently twice', async () => {
    let calls = 0;
    const flaky = testWallet(alice, {
      personalSign: async ({ hash }) => {
        calls += 1;
        // A wallet with random nonces (RFC 6979 plus fresh entropy): each signature differs.
        const key = hexToBytes('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
        const sig = secp256k1.sign(hexToBytes(hash), key, { extraEntropy: true, lowS: true });
        return bytesToHex(Uint8Array.from([...sig.toCompactRawBytes(), 27 + sig.recovery]));
      },
    });
    const wallet = await Wallet.connect(flaky);
    const err = await deriveEncryptionKey(wallet, { checkDeterministic: true }).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(err).toBeInstanceOf(MedkeyError);
    expect((err as MedkeyError).code).toBe('wallet_not_deterministic');
    expect((err as MedkeyError).message).toMatch(/Use a wallet that signs deterministically/);
  });

  it('come from a browser-style wallet exactly as from the key itself', async () => {
    const wallet = await Wallet.connect(testWallet(alice));
    const fromWallet = await deriveEncryptionKey(wallet, { checkDeterministic: true });
    const direct = await keyFromSignature(
      alice.address,
      await alice.signMessage({ message: walletKeyStatement(alice.address) }),
    );
    expect(fromWallet.publicKey).toEqual(direct.publicKey);
  });

  it('are refused for a smart-contract wallet before anything is signed', async () => {
    let signed = 0;
    const wallet = await Wallet.connect(
      testWallet(alice, {
        personalSign: async () => {
          signed += 1;
          return '0x' as Hex;
        },
      }),
    );
    const chain = { getCode: async () => '0x6080604052' as Hex };
    const err = await deriveEncryptionKey(wallet, { chain }).catch((e: unknown) => e);
    expect((err as MedkeyError).code).toBe('contract_wallet');
    expect((err as MedkeyError).message).toMatch(/connect an ordinary account/);
    expect(signed).toBe(0);
  });
});
