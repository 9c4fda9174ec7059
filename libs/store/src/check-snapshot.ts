import type { NewCommit, Snapshot } from './agent-streams.port';

/** A snapshot stored with a commit is of the state just before it: anything else is a caller's bug. */
export function checkSnapshot(commit: NewCommit, snapshot: Snapshot | undefined): void {
  if (snapshot && snapshot.version !== commit.version - 1) {
    throw new Error(
      `snapshot of ${commit.agentId} at version ${snapshot.version} stored with commit ${commit.version}: ` +
        `it must be of version ${commit.version - 1}`,
    );
  }
}
