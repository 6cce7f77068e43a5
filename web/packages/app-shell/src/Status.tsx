import type { ReactNode } from 'react';
import type { ShellState, StatusState } from './appStore.ts';
import { CodePrompt } from './CodePrompt.tsx';

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

/** The buttons that switch between an app's sections, the current one marked as the page. */
export function SectionNav<S extends string>({
  sections,
  labels,
  current,
  onShow,
}: {
  sections: readonly S[];
  labels: Record<S, string>;
  current: string;
  onShow: (section: S) => void;
}) {
  return (
    <nav aria-label="Sections">
      {sections.map((section) => (
        <button
          key={section}
          type="button"
          aria-current={current === section ? 'page' : undefined}
          onClick={() => onShow(section)}
        >
          {labels[section]}
        </button>
      ))}
    </nav>
  );
}

/**
 * The top of every app's main area: what is going on, loading, the second-factor prompt when
 * the vault asks for it, and the app's connect screen until she is signed in.
 */
export function SignInStages({
  state,
  onAnswerCode,
  connect,
}: {
  state: ShellState;
  onAnswerCode: (code: string) => void;
  connect: ReactNode;
}) {
  return (
    <>
      <Status state={state} />
      {state.phase === 'loading' && <p>Loading…</p>}
      {state.askingCode && <CodePrompt onAnswer={onAnswerCode} />}
      {state.phase === 'connect' && !state.askingCode && connect}
    </>
  );
}
