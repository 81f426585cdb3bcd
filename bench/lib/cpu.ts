/**
 * CPU clocks for the benchmarks (Node only): this process's CPU seconds
 * (lavapipe and SwiftShader execute the GPU work on its threads), and a
 * process tree's from /proc (Linux), which the browser runner uses to see the
 * CPU time Chromium's GPU process spends on SwiftShader.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) ... utime(14) stime(15), numbered as in proc(5).
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** User + system CPU seconds of every live descendant of `rootPid` (the root itself excluded); null where /proc is missing. */
export function descendantsCpuSeconds(rootPid: number): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const stats = entries.filter((e) => /^\d+$/.test(e)).map((e) => readStat(Number(e))).filter((s): s is ProcStat => s !== null);
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let ticks = 0;
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const s = stack.pop()!;
    ticks += s.ticks;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return ticks / TICKS;
}

/** User + system CPU seconds of this process, all threads. */
export async function processCpuSeconds(): Promise<number> {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
