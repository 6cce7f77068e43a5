// Keeps one broken part of a page from taking the whole page away: React unmounts everything
// when a render throws, unless a boundary above catches it. Every app puts one around each screen
// and `ResourceView` one around each record, so a malformed record costs its own box only. (A
// class because React offers boundaries only as classes; written here since it is ten lines.)

import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** What to show instead, once something below failed to render. */
  fallback: ReactNode;
  /** When this changes (another screen, another record), try the children again. */
  resetKey?: unknown;
  children: ReactNode;
}

export class ErrorBoundary extends Component<Props, { failed: boolean; key: unknown }> {
  override state = { failed: false, key: this.props.resetKey };

  static getDerivedStateFromError(): Partial<{ failed: boolean }> {
    return { failed: true };
  }

  static getDerivedStateFromProps(props: Props, state: { failed: boolean; key: unknown }) {
    return props.resetKey === state.key ? null : { failed: false, key: props.resetKey };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // The error's name only: its message may quote the record's content.
    console.warn(`A part of the page could not be shown (${error.name})`, info.componentStack?.split('\n')[1]?.trim());
  }

  override render(): ReactNode {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
