// The shape every app's services share: one immutable state object, replaced on each change,
// and the listeners React subscribes with (useSyncExternalStore). Screens read the state and
// call the subclass's methods; they hold no logic of their own.

import { MedkeyError, type VaultClient, type VaultSession, type Wallet } from '@medkey/client';
import type { Hex, PublicClient } from 'viem';
import type { AppConfig } from './config.ts';
import { configAndWallets } from './devWallet.ts';
import { connectAndSignIn, type SignedIn } from './signIn.ts';
import type { WalletChoice } from './wallets.ts';

/** What every app's state has: what is going on, what went wrong, what just happened. */
export interface StatusState {
  /** What is happening now, and what the person should do (e.g. "sign in your wallet"). */
  busy?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
  /** Sign-in is waiting for a code from the person's authenticator app. */
  askingCode?: boolean | undefined;
}

/** A second factor as the vault takes it: six digits from the app, or a recovery code. */
export type SecondFactor = { totp: string } | { recovery_code: string };

/** What every app's state has before sign-in: the deployment and the wallets to offer. */
export interface ShellState extends StatusState {
  phase: string;
  config?: AppConfig | undefined;
  wallets: WalletChoice[];
}

export class AppStore<S extends ShellState> {
  private listeners = new Set<() => void>();
  private codeAnswer?: ((factor: SecondFactor) => void) | undefined;
  // Set by a successful sign-in: the person's wallet, the vault with her session, the chain.
  protected wallet?: Wallet | undefined;
  protected vault?: VaultClient | undefined;
  protected session?: VaultSession | undefined;
  protected chain?: PublicClient | undefined;

  constructor(public state: S) {}

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = () => this.state;

  /**
   * Asks `act` every `everyMs` while `due()` holds (its screen on show, nothing under way), so a
   * screen shows what changed elsewhere without signing in again. A failed attempt is dropped:
   * the next one tries again. Returns the stop.
   */
  protected every(everyMs: number, due: () => boolean, act: () => Promise<unknown>): () => void {
    const timer = setInterval(() => {
      if (due()) void act().catch(() => undefined);
    }, everyMs);
    return () => clearInterval(timer);
  }

  protected set(patch: Partial<S>) {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  /** Loads the deployment and the wallets to offer (these dev wallets on a local chain only). */
  protected async startWith(dev: { key: Hex; name: string }[]): Promise<void> {
    try {
      const { config, wallets } = await configAndWallets(dev);
      this.set({ phase: 'connect', config, wallets } as Partial<S>);
    } catch (err) {
      this.set({ phase: 'connect' } as Partial<S>);
      this.fail(err);
    }
  }

  /**
   * Connects `choice` and signs in to this page's vault, asking for the code when needed; the
   * wallet, vault, session and chain are kept on the store.
   */
  protected async signIn(choice: WalletChoice, config: AppConfig): Promise<SignedIn> {
    this.set({
      busy: 'Waiting for your wallet: approve the connection, then the sign-in message.',
      error: undefined,
    } as Partial<S>);
    const signedIn = await connectAndSignIn(choice, config, () => this.askForCode());
    Object.assign(this, signedIn);
    return signedIn;
  }

  /** Sign-in needs the second factor: the screen shows a code field until the person answers. */
  protected askForCode(): Promise<SecondFactor> {
    this.set({ askingCode: true, busy: undefined } as Partial<S>);
    return new Promise((resolve) => {
      this.codeAnswer = resolve;
    });
  }

  /** The answer to the code prompt: six digits from the app, or a recovery code. */
  answerCode(code: string) {
    const text = code.trim().replaceAll(' ', '');
    const answer = this.codeAnswer;
    if (!answer) return;
    this.codeAnswer = undefined;
    this.set({ askingCode: false, busy: 'Checking the code…' } as Partial<S>);
    answer(/^\d{6}$/.test(text) ? { totp: text } : { recovery_code: text });
  }

  /** A failure in words, with what to do next (the errors' messages say it). */
  protected fail(err: unknown) {
    this.set({ busy: undefined, error: errorWords(err) } as Partial<S>);
  }

  /**
   * One action the person asked for: says what is happening (`busy`, when it takes a while),
   * clears the last error, runs `action`, and turns a failure into words on the screen. The
   * answer is `action`'s, or undefined when it failed. Every app's services act through this,
   * so none can forget to clear `busy` or swallow an error.
   */
  run = async <T>(busy: string | undefined, action: () => Promise<T>): Promise<T | undefined> => {
    this.set({ error: undefined, ...(busy ? { busy } : {}) } as Partial<S>);
    try {
      const answer = await action();
      if (busy && this.state.busy === busy) this.set({ busy: undefined } as Partial<S>);
      return answer;
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  };

  /**
   * The wallet, vault, session and chain of the signed-in person. Signed out (locked, or the
   * session ended), an action fails with a sentence saying so instead of doing nothing.
   */
  signedIn = (): SignedIn => {
    const { wallet, vault, session, chain } = this;
    if (!wallet || !vault || !session || !chain) {
      throw new MedkeyError('signed_out', 'You are signed out. Connect your wallet again to continue.');
    }
    return { wallet, vault, session, chain };
  };
}

/**
 * A failure in words for the screen. A request she turned down in her wallet (EIP-1193 code 4001,
 * anywhere in the error's causes, as viem wraps it) is said plainly rather than in viem's words.
 */
export function errorWords(err: unknown): string {
  for (let cause: unknown = err, depth = 0; cause && depth < 8; depth++) {
    const { code, name } = cause as { code?: unknown; name?: unknown };
    if (code === 4001 || name === 'UserRejectedRequestError')
      return 'You declined in your wallet. Nothing was signed or sent.';
    cause = (cause as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}
