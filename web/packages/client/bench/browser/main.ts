// The page the browser benchmark loads: the same workloads as under Node, one call per phase
// so that the runner can sample the browser's memory phase by phase.
import { decryptOnly, encryptOnly, encryptThenDecrypt, recordsWorkload } from '../workload.ts';

const workloads = { encryptOnly, encryptThenDecrypt, decryptOnly, recordsWorkload };

declare global {
  interface Window {
    medkey: typeof workloads;
  }
}

window.medkey = workloads;
