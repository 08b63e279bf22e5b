import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, dataDirLockPath, openDatabase, PGLITE_OPTIONS } from './client.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

describe('the embedded data folder lock', () => {
  it('refuses a second open of the same folder in this process, and close releases it', async () => {
    const dir = tempDir();
    const first = await openDatabase({ dataDir: dir });
    const lockFile = dataDirLockPath(dir);
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));

    const second = openDatabase({ dataDir: dir });
    await expect(second).rejects.toThrow(DataDirLockedError);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
      `the data folder ${dir} is already open in this process (pid ${process.pid})`,
    );
    // The refused open did not touch the holder's lock.
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));

    await first.close();
    expect(fs.existsSync(lockFile)).toBe(false);
    await first.close(); // a second close is harmless

    const again = await openDatabase({ dataDir: dir });
    await again.db.execute('SELECT 1');
    await again.close();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('refuses a folder another live process holds, naming the folder and the pid', async () => {
    const dir = tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(dataDirLockPath(dir), `${holder.pid}\n`);
      const attempt = openDatabase({ dataDir: dir });
      await expect(attempt).rejects.toThrow(DataDirLockedError);
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
        `the data folder ${dir} is in use by another Gatehouse process (pid ${holder.pid})`,
      );
      expect(fs.readFileSync(dataDirLockPath(dir), 'utf8').trim()).toBe(String(holder.pid));
      expect(fs.existsSync(path.join(dir, 'pglite'))).toBe(false);
    } finally {
      holder.kill();
    }
  });

  it('takes over a stale lock: a dead pid, our own pid from an earlier life, an empty file', async () => {
    for (const content of [`${deadPid()}\n`, `${process.pid}\n`, '']) {
      const dir = tempDir();
      fs.writeFileSync(dataDirLockPath(dir), content);
      const database = await openDatabase({ dataDir: dir });
      expect(fs.readFileSync(dataDirLockPath(dir), 'utf8').trim()).toBe(String(process.pid));
      await database.close();
      expect(fs.existsSync(dataDirLockPath(dir))).toBe(false);
    }
  });

  it('releases the lock when the database cannot be opened', async () => {
    const dir = tempDir();
    // A file where the cluster folder should be: PGlite cannot open it.
    fs.writeFileSync(path.join(dir, 'pglite'), 'not a folder');
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow();
    expect(fs.existsSync(dataDirLockPath(dir))).toBe(false);
  });

  it('takes no lock for a PGlite instance passed in, nor on PostgreSQL', async () => {
    const dir = tempDir();
    const pglite = await PGlite.create(PGLITE_OPTIONS);
    const a = await openDatabase({ pglite, dataDir: dir });
    const b = await openDatabase({ pglite, dataDir: dir });
    expect(fs.existsSync(dataDirLockPath(dir))).toBe(false);
    await a.close();
    await b.close();
    // The pool connects on first use only: no connection is made here.
    const pg = await openDatabase({ databaseUrl: 'postgres://gatehouse@127.0.0.1:1/none', dataDir: dir });
    expect(pg.url).toBe('postgres://gatehouse@127.0.0.1:1/none');
    expect(fs.existsSync(dataDirLockPath(dir))).toBe(false);
    await pg.close();
  });
});
