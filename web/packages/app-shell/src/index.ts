// What every Medkey browser app shares around the client library: finding the person's wallets,
// the deployment the vault serves, signing in, the dev wallets of a local chain, the wallet list
// and the stylesheet.
export * from './wallets.ts';
export * from './config.ts';
export * from './devWallet.ts';
export * from './labels.ts';
export * from './signIn.ts';
export * from './WalletList.tsx';
export * from './appStore.ts';
export * from './Status.tsx';
export * from './activityWords.ts';
export * from './CodePrompt.tsx';
export * from './ScreenFallback.tsx';
export * from './screenAddress.ts';
export * from './ui/MedkeyUI.tsx';
export * from './ui/FilePicker.tsx';
