// The shape every app's services share: one immutable state object, replaced on each change,
// and the listeners React subscribes with (useSyncExternalStore). Screens read the state and
// call the subclass's methods; they hold no logic of their own.

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

export class AppStore<S extends StatusState> {
  private listeners = new Set<() => void>();
  private codeAnswer?: ((factor: SecondFactor) => void) | undefined;

  constructor(public state: S) {}

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = () => this.state;

  protected set(patch: Partial<S>) {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
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
    const message = err instanceof Error ? err.message : String(err);
    this.set({ busy: undefined, error: message } as Partial<S>);
  }
}
