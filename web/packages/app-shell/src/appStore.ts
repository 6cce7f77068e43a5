// The shape every app's services share: one immutable state object, replaced on each change,
// and the listeners React subscribes with (useSyncExternalStore). Screens read the state and
// call the subclass's methods; they hold no logic of their own.

/** What every app's state has: what is going on, what went wrong, what just happened. */
export interface StatusState {
  /** What is happening now, and what the person should do (e.g. "sign in your wallet"). */
  busy?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

export class AppStore<S extends StatusState> {
  private listeners = new Set<() => void>();

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

  /** A failure in words, with what to do next (the errors' messages say it). */
  protected fail(err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    this.set({ busy: undefined, error: message } as Partial<S>);
  }
}
