import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runCli as run, startServe, tempDirs } from '../../test/support/cli.ts';

const dirs = tempDirs('gatehouse-cli-lock-');
afterAll(dirs.cleanup);

describe('gatehouse on a data folder already in use', () => {
  it('a second migrate or serve on a running server’s DATA_DIR is refused, and allowed once it stops', async () => {
    const dir = dirs.make();
    const env = { DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn', HOST: '127.0.0.1' };

    const { child: server, port, ready, exited } = await startServe(env);
    try {
      expect(ready).toBe(true);

      const migrate = await run(['migrate'], env);
      expect(migrate.code).not.toBe(0);
      expect(migrate.out).toContain(
        `the data folder ${dir} is in use by another Gatehouse process (pid ${server.pid})`,
      );
      expect(migrate.out).not.toContain('migrations applied');

      const second = await run(['serve'], { ...env, PORT: String(await freePort()) });
      expect(second.code).not.toBe(0);
      expect(second.out).toContain(`is in use by another Gatehouse process (pid ${server.pid})`);

      // The running server is unaffected.
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dir, 'gatehouse.lock'))).toBe(false);

    const after = await run(['migrate'], env);
    expect(after.code).toBe(0);
    expect(after.out).toContain('migrations applied');
  });
});
