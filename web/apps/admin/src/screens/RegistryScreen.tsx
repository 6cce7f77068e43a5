import { useAdminApp } from '../useAdminApp.ts';

export function RegistryScreen() {
  const [state, app] = useAdminApp();
  const pauser = state.roles.includes('pauser');
  return (
    <section aria-labelledby="registry-title">
      <h1 id="registry-title">Registry</h1>
      <p>Your roles: {state.roles.join(', ') || 'none'}.</p>
      <p>
        {state.paused === undefined ? 'Reading the registry…' : state.paused ? 'Paused: no new grants are accepted.' : 'Running: new grants are accepted.'}{' '}
        Revocations always work, paused or not.
      </p>
      {pauser && state.paused !== undefined && (
        <button type="button" onClick={() => void app.setPaused(!state.paused)} disabled={Boolean(state.busy)}>
          {state.paused ? 'Unpause the registry' : 'Pause the registry'}
        </button>
      )}
    </section>
  );
}
