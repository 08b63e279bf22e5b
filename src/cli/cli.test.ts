import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run, startServe, tempDirs } from '../../test/support/cli.ts';

const dirs = tempDirs('gatehouse-cli-');
afterAll(dirs.cleanup);

describe('gatehouse CLI', () => {
  it('prints help naming its commands', async () => {
    const { code, out } = await run(['--help'], {});
    expect(code).toBe(0);
    expect(out).toMatch(/serve/);
    expect(out).toMatch(/migrate/);
  });

  it('refuses a bad setting with a clear message and exit code 2', async () => {
    const { code, out } = await run(['migrate'], { PORT: 'eighty' });
    expect(code).toBe(2);
    expect(out).toContain('PORT must be an integer');
  });

  it('migrate applies the migrations to an embedded database, serve starts on it and stops on SIGTERM', async () => {
    const dir = dirs.make();
    const env = { DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
    const migrated = await run(['migrate'], env);
    expect(migrated.code).toBe(0);
    expect(migrated.out).toContain('migrations applied');

    const { child, ready, exited } = await startServe(env);
    expect(ready).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
