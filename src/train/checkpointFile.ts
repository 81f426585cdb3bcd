/**
 * Node file I/O for checkpoints: the save path checked before any GPU work,
 * atomic writes (temp file, fsync, rename), and cleanup of the temp files a
 * killed save left behind.
 */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from './checkpoint';

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);

/** `.name.<pid>.<ms>.tmp` beside `path`: the temp file a save of `path` by process `pid` writes. */
function tempName(path: string, pid: number, ms: number): string {
  return join(dirname(path), `.${basename(path)}.${pid}.${ms}.tmp`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Removes the temp files of `path` whose writer is gone (killed mid-save): the
 * rename never happened, so they hold nothing the checkpoint needs. A live
 * process's temp file is left to it (it may be saving the same name now).
 */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const match = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && !isAlive(pid)) await fs.rm(join(dirname(path), name), { force: true });
  }
}

/** Refuses a --save path that a save at the end could not write, with one line, before any GPU work. */
export async function checkSavePath(path: string): Promise<void> {
  if (path === '') throw new Error('--save: empty file name');
  if (path.endsWith('/')) throw new Error(`--save: ${path} names a directory, not a file`);
  const dir = dirname(path);
  const dirStat = await fs.stat(dir).catch(() => null);
  if (!dirStat) throw new Error(`--save: directory ${dir} does not exist`);
  if (!dirStat.isDirectory()) throw new Error(`--save: ${dir} is not a directory`);
  try {
    await fs.access(dir, fs.constants.W_OK);
  } catch (error) {
    throw new Error(`--save: cannot write in ${dir} (${errorCode(error)})`);
  }
  const target = await fs.stat(path).catch(() => null);
  if (target && !target.isFile()) throw new Error(`--save: ${path} exists and is not a file`);
  await removeStaleTemps(path);
}

export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  await removeStaleTemps(path);
  const temp = tempName(path, process.pid, Date.now());
  try {
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(path, serializeCheckpoint(checkpoint));
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  if (path === '') throw new Error('--load: empty file name');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`--load: cannot read ${path} (${errorCode(error)})`);
  }
  return parseCheckpoint(text, path);
}
