// What other packages' tests use from this one: the real local stack, the test wallet, Chromium.
export { medkeyCli, medkeyCliEnv, medkeyBinary, repoRoot, startDevStack, type DevStack } from './devStack.ts';
export { testWallet, type TestWalletOptions } from './testWallet.ts';
export { signedInAs } from './signedInAs.ts';
export { CHROMIUM_ARGS, announceWallet, chromiumLaunchOptions } from './browser.ts';
export { unsteadyAccount } from './unsteadyAccount.ts';
export { axeViolations } from './accessibility.ts';
export { phoneProblems, recordCspRefusals } from './phoneFit.ts';
