import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

/** A primary and a streaming replica (pg_basebackup -R), each a local cluster on its own port. */
export interface ReplicaPair {
  primaryUrl: string;
  replicaUrl: string;
  /** Runs `pg_ctl stop` on the replica. */
  stopReplica(): void;
  /** Stops both clusters and removes their directories. */
  destroy(): void;
}

/** Why this machine cannot run the pair, or undefined when it can. */
export function replicaUnavailableReason(): string | undefined {
  if (!existsSync(join(BIN, 'pg_basebackup'))) return `PostgreSQL 15 binaries not found in ${BIN}`;
  if (userInfo().uid !== 0) return 'needs root to run the clusters as user postgres';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: 'pipe' });
}

function serverOptions(port: number, socketDir: string): string {
  return `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c wal_level=replica -c max_wal_senders=4 -c fsync=off -c shared_buffers=16MB -c hot_standby=on`;
}

/** Creates a fresh primary (initdb) and a replica of it made with `pg_basebackup -R`, both started. */
export async function createReplicaPair(): Promise<ReplicaPair> {
  const root = mkdtempSync('/tmp/qopt-replica-');
  const postgresUid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const postgresGid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(root, postgresUid, postgresGid);
  const primaryDir = join(root, 'primary');
  const replicaDir = join(root, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started: string[] = [];
  const stop = (dir: string) => {
    try {
      asPostgres('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
  };
  try {
    asPostgres('initdb', ['-D', primaryDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    asPostgres('pg_ctl', ['-D', primaryDir, '-o', serverOptions(primaryPort, root), '-l', join(root, 'primary.log'), '-w', 'start']);
    started.push(primaryDir);
    asPostgres('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream']);
    asPostgres('pg_ctl', ['-D', replicaDir, '-o', serverOptions(replicaPort, root), '-l', join(root, 'replica.log'), '-w', 'start']);
    started.push(replicaDir);
  } catch (error) {
    for (const dir of started) stop(dir);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`,
    replicaUrl: `postgres://postgres@127.0.0.1:${replicaPort}/postgres`,
    stopReplica: () => stop(replicaDir),
    destroy: () => {
      stop(replicaDir);
      stop(primaryDir);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
