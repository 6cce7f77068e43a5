// `npm run bench` (Node): the workloads of bench/workload.ts on this machine's Node.
import { readdirSync, readFileSync } from 'node:fs';
import { decryptOnly, encryptOnly, encryptThenDecrypt, recordsWorkload } from './workload.ts';

const fixtures = new URL('../../../../tests/fixtures/fhir-r4/', import.meta.url);
export function thousandResources(): object[] {
  const examples = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(new URL(f, fixtures), 'utf8')) as object);
  return Array.from({ length: 1000 }, (_, i) => examples[i % examples.length]!);
}

/** Peak resident memory of this process while `work` runs, above what it was before, in MB. */
async function peakRss<T>(work: () => Promise<T>): Promise<[T, number]> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const out = await work();
  clearInterval(timer);
  return [out, (Math.max(peak, process.memoryUsage().rss) - before) / (1024 * 1024)];
}

// Run directly (`npm run bench`), not when bench/browser.ts imports the fixtures.
if (import.meta.url === `file://${process.argv[1]}`) {
  const megabytes = Number(process.argv[2] ?? 100);
  const [encryptMBps, encryptExtraRssMB] = await peakRss(() => encryptOnly(megabytes));
  const [pipelineMBps, pipelineExtraRssMB] = await peakRss(() => encryptThenDecrypt(megabytes));
  const [smallPipelineMBps, smallPipelineExtraRssMB] = await peakRss(() => encryptThenDecrypt(megabytes / 4));
  const decryptMBps = await decryptOnly(megabytes);
  const records = await recordsWorkload(thousandResources());
  console.log(
    JSON.stringify(
      {
        runtime: `node ${process.version}`,
        stream: { megabytes, encryptMBps, decryptMBps, pipelineMBps, encryptExtraRssMB, pipelineExtraRssMB },
        flat: {
          megabytes: megabytes / 4,
          pipelineMBps: smallPipelineMBps,
          pipelineExtraRssMB: smallPipelineExtraRssMB,
        },
        records,
      },
      null,
      2,
    ),
  );
}
