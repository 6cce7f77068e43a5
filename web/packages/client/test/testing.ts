// What other packages' tests use from this one: the real local stack and the test wallet.
export { medkeyCli, medkeyBinary, repoRoot, startDevStack, type DevStack } from './devStack.ts';
export { testWallet, type TestWalletOptions } from './testWallet.ts';
