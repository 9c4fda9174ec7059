import { readFileSync } from 'node:fs';
import { processTree, rssMb } from '@drover/browser';

/** Memory of one process tree, in MB. */
export interface TreeMemory {
  /** Proportional set size of every process: pages shared between processes are split among them, so they count once. */
  pssMb: number;
  /** PSS of the root process alone (node). */
  rootPssMb: number;
  /** Summed resident set size of the browser processes, as `BrowserHost` compares it with `BROWSER_MAX_RSS_MB`. */
  browserRssMb: number;
  processes: number;
}

/**
 * PSS of a process and everything it started: its descendants, plus the members of the process
 * group of each descendant that leads one (Chromium is launched detached, and a helper it
 * reparents stays in its group).
 */
export function treeMemory(rootPid: number): TreeMemory {
  const all = treePids(rootPid);
  const browsers = all.filter((pid) => pid !== rootPid);
  return {
    pssMb: pssMb(all),
    rootPssMb: pssMb([rootPid]),
    browserRssMb: rssMb(browsers),
    processes: all.length,
  };
}

/** The root pid and every pid of the tree it started (see `treeMemory`). */
export function treePids(rootPid: number): number[] {
  const pids = new Set(processTree(rootPid));
  for (const pid of [...pids]) {
    if (pid !== rootPid && leadsGroup(pid)) for (const member of processTree(pid)) pids.add(member);
  }
  return [rootPid, ...[...pids].filter((pid) => pid !== rootPid)];
}

export function pssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // the process exited meanwhile
    }
  }
  return kb / 1024;
}

function leadsGroup(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]) === pid;
  } catch {
    return false;
  }
}
