import { Button } from '@mantine/core';
import { formatDate } from '@medkey/fhir-display';
import { formatEther } from 'viem';
import { useAdminApp } from '../useAdminApp.ts';

const ROLE_WORDS: Record<string, string> = {
  admin: 'Admin (grants and takes roles)',
  registrar: 'Registrar (providers)',
  pauser: 'Pauser (new grants)',
  operator: 'Operator (audit anchors)',
};

export function RegistryScreen() {
  const [state, app] = useAdminApp();
  const pauser = state.roles.includes('pauser');
  const retrier = state.roles.includes('operator') || state.roles.includes('admin');
  const system = state.system;
  const anchoring = system?.anchoring;
  const balance = system?.relayer?.balance_wei;
  return (
    <section aria-labelledby="registry-title">
      <h1 id="registry-title">Registry</h1>
      <p>Your roles: {state.roles.join(', ') || 'none'}.</p>
      <h2>New grants</h2>
      <p>
        {state.paused === undefined
          ? 'Reading the registry…'
          : state.paused
            ? 'Paused: no new grants are accepted.'
            : 'Running: new grants are accepted.'}{' '}
        Revocations always work, paused or not.
      </p>
      {pauser && state.paused !== undefined && (
        <Button
          type="button"
          variant="default"
          onClick={() => void app.setPaused(!state.paused)}
          disabled={Boolean(state.busy)}
        >
          {state.paused ? 'Unpause the registry' : 'Pause the registry'}
        </Button>
      )}
      {system && anchoring && (
        <>
          <h2>Audit log</h2>
          <p>
            {anchoring.log_size} entries now.{' '}
            {anchoring.anchored_size === undefined || anchoring.anchored_size === null
              ? 'Not anchored on chain yet.'
              : `Last anchored on chain at ${anchoring.anchored_size} entries${anchoring.anchored_at_ms ? ` on ${formatDate(new Date(anchoring.anchored_at_ms))}` : ''}: ${anchoring.log_size - anchoring.anchored_size} entries since.`}
          </p>
          <h2>Chain mirror</h2>
          <p>
            Block {system.indexer.indexed_block} of {system.indexer.head_block} ({system.indexer.lag_blocks} behind),
            head seen {Math.round(system.indexer.head_age_ms / 1000)} s ago.{' '}
            {system.indexer.fresh
              ? 'Fresh: keys are released.'
              : `Stale: keys are refused until it catches up (${system.indexer.problem ?? 'unknown'}).`}
          </p>
          <h2>Relayer</h2>
          <p>
            {system.relayer
              ? `${system.relayer.address} pays for gasless grants; balance ${balance && /^[0-9]+$/.test(balance) ? `${formatEther(BigInt(balance))} ETH` : balance}.`
              : 'Gasless sharing is off on this vault.'}
          </p>
          <h2>Webhooks</h2>
          <p>
            {system.webhooks.enabled ? '' : 'Notifications are off on this vault. '}
            {system.webhooks.pending} waiting, {system.webhooks.delivered} delivered, {system.webhooks.dead} given up.
          </p>
          {state.deadWebhooks.length > 0 && (
            <ul>
              {state.deadWebhooks.map((d) => (
                <li key={d.id}>
                  {d.event_type} from {formatDate(new Date(d.created_at_ms))}: {d.attempts} attempts
                  {d.last_error ? `, last ${d.last_error}` : ''}{' '}
                  {retrier && (
                    <Button type="button" variant="default" onClick={() => void app.retryWebhook(d.id)}>
                      Retry {d.event_type} {d.id.slice(0, 8)}
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <h2>Who holds which role</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Account</th>
              </tr>
            </thead>
            <tbody>
              {system.roles.map((holder) => (
                <tr key={`${holder.role}-${holder.account}`}>
                  <td>{ROLE_WORDS[holder.role] ?? holder.role}</td>
                  <td className="address">{holder.account}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
