// A wallet account whose message signatures are valid but different every time (ECDSA with fresh
// randomness, as some hardware and smart wallets sign): it signs in fine, but cannot derive the
// same Medkey key twice. Tests use it to check that the apps refuse such a wallet in time.
import { secp256k1 } from '@noble/curves/secp256k1';
import { hashMessage, numberToHex, serializeSignature, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export function unsteadyAccount(privateKey: Hex): LocalAccount {
  const account = privateKeyToAccount(privateKey);
  return {
    ...account,
    async signMessage({ message }) {
      const signature = secp256k1.sign(hashMessage(message).slice(2), privateKey.slice(2), { extraEntropy: true });
      return serializeSignature({
        r: numberToHex(signature.r, { size: 32 }),
        s: numberToHex(signature.s, { size: 32 }),
        yParity: signature.recovery,
      });
    },
  };
}
