// Her session and her key: signing in with a wallet, creating her encryption key on a first
// visit (deterministic signatures checked, public half published), and locking: the key wiped,
// the session ended, after a while without use or when she asks.

import {
  MedkeyError,
  deriveAndPublishKey,
  deriveEncryptionKey,
  publishedKey,
  type EncryptionKeyPair,
} from '@medkey/client';
import type { AppConfig, SignedIn, StatusState, WalletChoice } from '@medkey/app-shell';
import type { ServiceContext } from './context.ts';

export type Phase = 'loading' | 'connect' | 'welcome' | 'ready';

export interface SessionSlice extends StatusState {
  phase: Phase;
  config?: AppConfig | undefined;
  address?: string | undefined;
}

/** Minutes of inactivity after which the app locks itself and forgets every key and record. */
export const IDLE_LOCK_MINUTES = 15;

/** What an action that needs her key says while the app is locked. */
export const lockedError = () =>
  new MedkeyError('locked', 'Medkey is locked. Connect your wallet again to open your records.');

export const LOCKED_FOR_IDLE = 'Medkey locked itself after a while without use. Connect again to continue.';

export class SessionService {
  private held?: EncryptionKeyPair | undefined;
  private idleTimer?: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: Omit<ServiceContext<SessionSlice>, 'keys'>,
    private readonly signIn: (choice: WalletChoice, config: AppConfig) => Promise<SignedIn>,
    /** Called once she is in with her key: open her records. */
    private readonly onReady: () => Promise<void>,
    /** Called when the app locks: forget every record and sign out. */
    private readonly onLock: (reason: string) => Promise<void>,
    private readonly idleMs = IDLE_LOCK_MINUTES * 60_000,
  ) {}

  /** Her key, while the app is unlocked. */
  keys = (): EncryptionKeyPair => {
    if (!this.held) throw lockedError();
    return this.held;
  };

  /** Connects a wallet and signs in (one signature); a first visit goes to the welcome step. */
  async connect(choice: WalletChoice): Promise<void> {
    const config = this.ctx.state.config;
    if (!config)
      return this.ctx.set({ error: 'This page could not read its settings from the vault. Reload the page.' });
    await this.ctx.run(undefined, async () => {
      const { wallet, vault } = await this.signIn(choice, config);
      const published = await publishedKey(vault, wallet.address, config.chain_id).catch((err: unknown) => {
        if (err instanceof MedkeyError && err.status === 404) return undefined;
        throw err;
      });
      if (!published) {
        this.ctx.set({ phase: 'welcome', address: wallet.address, busy: undefined });
        return;
      }
      this.ctx.set({ busy: 'Sign the key message in your wallet to open your records on this device.' });
      const keys = await deriveEncryptionKey(wallet);
      if (!keys.publicKey.every((b, i) => b === published[i])) {
        keys.secret.fill(0);
        throw new MedkeyError(
          'key_mismatch',
          'This wallet signed differently from when your key was created, so it cannot open your records. Use the wallet (and account) you set Medkey up with.',
        );
      }
      await this.unlock(keys, { address: wallet.address });
    });
  }

  /** First visit: derive her key (asking twice to be sure her wallet is deterministic) and publish it. */
  async createKey(): Promise<void> {
    const config = this.ctx.state.config;
    await this.ctx.run('Sign the key message twice, then the message that publishes your key.', async () => {
      const { wallet, session, chain } = this.ctx.signedIn();
      const keys = await deriveAndPublishKey(session, wallet, config!.chain_id, { checkDeterministic: true, chain });
      await this.unlock(keys, { notice: 'Your encryption key is ready. Only this wallet can recreate it.' });
    });
  }

  /** Her key's public half, for the settings page. */
  publicKeyHex(): string | undefined {
    return this.held ? `0x${[...this.held.publicKey].map((b) => b.toString(16).padStart(2, '0')).join('')}` : undefined;
  }

  /** Wipes the key and stops the idle countdown (the app then forgets the rest). */
  forget() {
    this.held?.secret.fill(0);
    this.held = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Restarts the idle countdown (the app calls this on every keypress, click and scroll). */
  touch = () => {
    if (this.ctx.state.phase === 'ready') this.armIdleLock();
  };

  private async unlock(keys: EncryptionKeyPair, patch: Partial<SessionSlice>): Promise<void> {
    this.held = keys;
    this.ctx.set({ phase: 'ready', busy: undefined, ...patch });
    this.armIdleLock();
    await this.onReady();
  }

  private armIdleLock() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.onLock(LOCKED_FOR_IDLE), this.idleMs);
  }
}
