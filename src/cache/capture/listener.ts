import pg from 'pg';
import { CAPTURE_CHANNEL, CAPTURE_TRIGGER } from './install.js';

/** What the listener tells the cache. */
export interface ChangeListenerHandlers {
  /** A captured table changed (payload `schema.table`). */
  onChange(table: string): Promise<void> | void;
  /** (Re)connected: notifications sent while away are lost, so these captured tables must count as changed. */
  onResync(tables: string[]): Promise<void> | void;
}

const RECONNECT_DELAY_MS = 500;

/**
 * A dedicated connection that LISTENs for capture notifications and reconnects when it drops.
 * Every (re)connection resyncs: all captured tables are treated as changed.
 */
export class ChangeListener {
  readonly stats = { notifications: 0, reconnects: 0, errors: 0 };
  private client: pg.Client | null = null;
  private closed = false;
  /** Unqualified names of the captured tables, as of the last (re)connection. */
  private captured = new Set<string>();
  /** True from a dropped connection until the resync after the reconnection is done. */
  private away = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly handlers: ChangeListenerHandlers,
  ) {}

  /** Connects and listens; on failure keeps retrying in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.connection);
    client.on('error', () => this.scheduleReconnect(client));
    client.on('end', () => this.scheduleReconnect(client));
    client.on('notification', (message) => {
      if (message.channel !== CAPTURE_CHANNEL || !message.payload) return;
      this.stats.notifications += 1;
      void Promise.resolve(this.handlers.onChange(message.payload)).catch(() => (this.stats.errors += 1));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CAPTURE_CHANNEL}`);
      const captured = await client.query<{ name: string }>(
        `SELECT DISTINCT n.nspname || '.' || c.relname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = $1`,
        [CAPTURE_TRIGGER],
      );
      this.captured = new Set(captured.rows.map((row) => row.name.split('.').pop()!));
      if (captured.rows.length > 0) await this.handlers.onResync(captured.rows.map((row) => row.name));
      this.client = client;
      this.away = false;
    } catch {
      this.stats.errors += 1;
      this.scheduleReconnect(client);
    }
  }

  private scheduleReconnect(client: pg.Client): void {
    if (this.closed || this.timer) return;
    if (this.client === client) this.client = null;
    this.away = true;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.stats.reconnects += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, RECONNECT_DELAY_MS);
  }

  /**
   * While the connection is away, a captured table may change unseen: reads of it must not be
   * served from (or stored in) the cache until the resync.
   */
  isBlind(tables: readonly string[]): boolean {
    if (!this.away) return false;
    return tables.some((table) => this.captured.has(table.split('.').pop()!));
  }

  /** True while listening. */
  get isListening(): boolean {
    return this.client !== null;
  }

  /** Backend pid of the listening connection (tests terminate it to prove the resync). */
  get backendPid(): number | null {
    return (this.client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
