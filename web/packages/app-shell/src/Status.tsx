import { Alert, Button, Group, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import type { ShellState, StatusState } from './appStore.ts';
import { CodePrompt } from './CodePrompt.tsx';

/** What is going on (announced politely), what went wrong (an alert), what just happened. */
export function Status({ state }: { state: StatusState }) {
  return (
    <>
      <Group gap="xs" role="status" aria-live="polite" className="busy" wrap="nowrap">
        {state.busy && <Loader size="xs" aria-hidden="true" />}
        <span>{state.busy ?? ''}</span>
      </Group>
      {state.error && (
        <Alert color="red" variant="light" className="error" my="xs">
          {state.error}
        </Alert>
      )}
      {state.notice && (
        <Alert color="green" variant="light" className="notice" role="note" my="xs">
          {state.notice}
        </Alert>
      )}
    </>
  );
}

/** An account address as people read one, `0x7099…79C8`; the whole one stays in the title. */
const shortAddresses = (text: string) => text.replace(/0x[0-9a-fA-F]{40}/g, (a) => `${a.slice(0, 6)}…${a.slice(-4)}`);

/** The top bar: the app's name, and who is signed in (a name, or a short address) with a way out. */
export function Header({ brand, who, onSignOut }: { brand: string; who?: string | undefined; onSignOut: () => void }) {
  return (
    <header className="app-header">
      <span className="brand">{brand}</span>
      {who && (
        <span className="account">
          <span className="who" title={who}>
            {shortAddresses(who)}
          </span>
          <Button type="button" variant="white" onClick={onSignOut} className="sign-out">
            Sign out
          </Button>
        </span>
      )}
    </header>
  );
}

/**
 * The buttons that switch between an app's sections, the current one marked as the page: a row
 * under the header on a wide screen, a bar at the bottom on a phone (styles.css), where a section
 * may go by a shorter name (`short`) so that five fit in a row; each name is the button's text,
 * so what a screen reader says is what is on screen.
 */
export function SectionNav<S extends string>({
  sections,
  labels,
  short = {},
  current,
  onShow,
}: {
  sections: readonly S[];
  labels: Record<S, string>;
  short?: Partial<Record<S, string>>;
  current: string;
  onShow: (section: S) => void;
}) {
  return (
    <nav aria-label="Sections" className="section-nav">
      {sections.map((section) => (
        <Button
          key={section}
          type="button"
          variant={current === section ? 'filled' : 'subtle'}
          aria-current={current === section ? 'page' : undefined}
          onClick={() => onShow(section)}
        >
          {short[section] ? (
            <>
              <span className="nav-long">{labels[section]}</span>
              <span className="nav-short">{short[section]}</span>
            </>
          ) : (
            labels[section]
          )}
        </Button>
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
