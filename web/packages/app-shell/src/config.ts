// The deployment this vault serves, from /app-config.json (written by medkey dev / medkey serve).
import type { Address } from 'viem';

export interface AppConfig {
  chain_id: number;
  registry: Address;
  audit_key: string;
  /** Set only for a local development chain: the app then offers its built-in dev wallet. */
  dev_rpc_url: string | null;
  /** Providers' FHIR APIs (SMART on FHIR) this server lists, by name; the page may reach these only. */
  smart_endpoints?: { address: string; name: string }[];
  /** The patient app's client id at those providers. */
  smart_client_id?: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/app-config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error('This Medkey server did not say which network it serves. Try reloading the page.');
  return (await response.json()) as AppConfig;
}

/** The registry this vault serves, as the client library takes it. */
export function deploymentOf(config: AppConfig): { chainId: number; address: Address } {
  return { chainId: config.chain_id, address: config.registry };
}
