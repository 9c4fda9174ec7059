import { readFileSync } from 'node:fs';
import { processTree, pssMb } from '@drover/browser';

/** Memory of one process tree, in MB. */
export interface TreeMemory {
  /** Proportional set size of every process: pages shared between processes are split among them, so they count once. */
  pssMb: number;
  /** PSS of the root process alone (node). */
  rootPssMb: number;
  /** PSS of the browser processes, as `BrowserHost` compares it with `BROWSER_MAX_RSS_MB`. */
  browserPssMb: number;
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
    browserPssMb: pssMb(browsers),
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
