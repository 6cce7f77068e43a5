// What every patient-app service stands on, and nothing more: its slice of the state, one way to
// run an action (busy words, errors in words), the signed-in wallet/vault/chain, her key and the
// deployment. The app wires it to its store; unit tests wire it to a fake vault.

import type { Deployment, EncryptionKeyPair } from '@medkey/client';
import type { SignedIn, StatusState } from '@medkey/app-shell';

export interface ServiceContext<S extends StatusState> {
  readonly state: S;
  set(patch: Partial<S>): void;
  /** Runs one action the person asked for (see `AppStore.run`). */
  run<T>(busy: string | undefined, action: () => Promise<T>): Promise<T | undefined>;
  /** The signed-in person's wallet, vault, session and chain; throws in words when signed out. */
  signedIn(): SignedIn;
  /** Her encryption key (memory only); throws in words when the app is locked. */
  keys(): EncryptionKeyPair;
  /** The registry this vault serves. */
  deployment(): Deployment;
}

/** `n thing` or `n things`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
