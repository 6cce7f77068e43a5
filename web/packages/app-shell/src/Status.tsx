import type { StatusState } from './appStore.ts';

/** What is going on (announced politely), what went wrong (an alert), what just happened. */
export function Status({ state }: { state: StatusState }) {
  return (
    <>
      <p role="status" aria-live="polite" className="busy">
        {state.busy ?? ''}
      </p>
      {state.error && (
        <p role="alert" className="error">
          {state.error}
        </p>
      )}
      {state.notice && <p className="notice">{state.notice}</p>}
    </>
  );
}

/** The top bar: the app's name, and who is signed in with a way out. */
export function Header({ brand, who, onSignOut }: { brand: string; who?: string | undefined; onSignOut: () => void }) {
  return (
    <header>
      <span className="brand">{brand}</span>
      {who && (
        <span className="account">
          {who}{' '}
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      )}
    </header>
  );
}
