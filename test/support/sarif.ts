import { randomBytes } from 'node:crypto';

/** A SARIF 2.1.0 log of `n` distinct results (a new finding each, unless `tag` repeats). */
export function sarifLog(n: number, tag = randomBytes(4).toString('hex')) {
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'Semgrep' } },
        results: Array.from({ length: n }, (_, i) => ({
          ruleId: `rule-${i % 7}`,
          level: i % 2 ? 'error' : 'warning',
          message: { text: `Problem ${i}` },
          locations: [
            { physicalLocation: { artifactLocation: { uri: `src/f${i}.ts` }, region: { startLine: i + 1 } } },
          ],
          partialFingerprints: { id: `${tag}-${i}` },
        })),
      },
    ],
  };
}
