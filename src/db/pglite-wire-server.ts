import { randomInt, timingSafeEqual } from "node:crypto";
import net from "node:net";

/** What the server needs of PGlite: its synchronous entry for raw wire-protocol messages. */
export interface WireBackend {
  execProtocolRawSync(message: Uint8Array): Uint8Array;
}

export interface PgliteWireServerOptions {
  backend: WireBackend;
  /** Clients must send this password (cleartext is fine: the socket is local and private). */
  password: string;
  /** Reported to clients at startup (ParameterStatus). */
  parameters: Record<string, string>;
  onError?(error: unknown): void;
}

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

type Phase = "startup" | "password" | "ready" | "closed";

class Connection {
  phase = "startup" as Phase;
  buffer: Buffer = Buffer.alloc(0);
  /** Complete messages received and not yet run. */
  pending: Buffer[] = [];
  /** Between its first message and a ReadyForQuery: the session must stay this connection's. */
  midUnit = false;
  /** The transaction status of the last ReadyForQuery it received. */
  status = IDLE;
  constructor(readonly socket: net.Socket) {}
}

/**
 * Serves one PGlite session to several local clients over the PostgreSQL wire protocol, so the
 * bot's pool and the CLI both talk to it through `pg`, exactly as to a PostgreSQL server.
 *
 * PGlite is a single session, so clients take turns: a client owns the session from its first
 * message until PGlite answers with ReadyForQuery in the idle state. Inside a transaction
 * ('T' or 'E') and between an extended-protocol Parse and its Sync, nobody else runs, which
 * keeps transactions serialisable and unnamed statements from being swapped. Statements run
 * through PGlite's synchronous entry on this thread, which is why it runs in a worker.
 */
export class PgliteWireServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly waiting: Connection[] = [];
  private owner: Connection | null = null;
  /** While set, no client is given the session (a backup is reading the files). */
  private paused = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: PgliteWireServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  /** Stops accepting; ends every connection (an open transaction is rolled back). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of [...this.connections]) this.drop(connection);
    await closed;
  }

  /**
   * Runs `fn` while no client holds the session: it waits for the current owner's transaction
   * to end, then keeps everyone else queued until `fn` settles. Clients only wait; nothing is
   * refused. What `fn` sees on disk is therefore a state between transactions.
   */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.paused) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.paused = true;
    try {
      while (this.owner !== null) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      return await fn();
    } finally {
      this.paused = false;
      this.wakeIdleWaiters();
      this.schedule();
    }
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private accept(socket: net.Socket): void {
    const connection = new Connection(socket);
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(connection, chunk));
    socket.on("error", () => this.drop(connection));
    socket.on("close", () => this.drop(connection));
  }

  private receive(connection: Connection, chunk: Buffer): void {
    if (connection.phase === "closed") return;
    connection.buffer = connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
    try {
      for (;;) {
        const message = this.nextMessage(connection);
        if (!message) break;
        if (connection.phase === "startup") this.startup(connection, message);
        else if (connection.phase === "password") this.authenticate(connection, message);
        else if (message[0] === TERMINATE) {
          this.drop(connection);
          return;
        } else connection.pending.push(message);
        if (this.isClosed(connection)) return;
      }
    } catch (error) {
      this.options.onError?.(error);
      this.drop(connection);
      return;
    }
    if (connection.pending.length > 0) {
      if (this.owner !== connection && !this.waiting.includes(connection)) this.waiting.push(connection);
      this.schedule();
    }
  }

  private isClosed(connection: Connection): boolean {
    return connection.phase === "closed";
  }

  /** Splits off one whole message: startup-phase messages have no type byte. */
  private nextMessage(connection: Connection): Buffer | null {
    const { buffer } = connection;
    const typed = connection.phase !== "startup";
    const header = typed ? 5 : 4;
    if (buffer.length < header) return null;
    const length = (typed ? buffer.readInt32BE(1) + 1 : buffer.readInt32BE(0));
    if (length < header - (typed ? 1 : 0) || length > MAX_MESSAGE_BYTES) throw new Error(`invalid message length ${length}`);
    if (buffer.length < length) return null;
    const message = buffer.subarray(0, length);
    connection.buffer = buffer.subarray(length);
    return Buffer.from(message);
  }

  private startup(connection: Connection, message: Buffer): void {
    const code = message.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      connection.socket.write("N");
      return;
    }
    if (code === CANCEL_REQUEST || code !== PROTOCOL_3) {
      this.fatal(connection, "08P01", "unsupported startup request");
      return;
    }
    connection.phase = "password";
    connection.socket.write(backendMessage("R", int32(3))); // AuthenticationCleartextPassword
  }

  private authenticate(connection: Connection, message: Buffer): void {
    const given = message[0] === 0x70 ? message.subarray(5, message.length - 1) : Buffer.alloc(0);
    const expected = Buffer.from(this.options.password);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.fatal(connection, "28P01", "password authentication failed");
      return;
    }
    connection.phase = "ready";
    const parts = [backendMessage("R", int32(0))];
    for (const [name, value] of Object.entries(this.options.parameters)) parts.push(backendMessage("S", cstring(name), cstring(value)));
    parts.push(backendMessage("K", int32(randomInt(1, 2 ** 31 - 1)), int32(randomInt(1, 2 ** 31 - 1))));
    parts.push(backendMessage("Z", Buffer.from([IDLE])));
    connection.socket.write(Buffer.concat(parts));
  }

  private schedule(): void {
    while (true) {
      if (!this.owner) {
        if (this.paused) {
          this.wakeIdleWaiters();
          return;
        }
        const next = this.waiting.shift();
        if (!next) return;
        this.owner = next;
      }
      const owner = this.owner;
      if (owner.pending.length === 0) {
        if (owner.midUnit || owner.status !== IDLE) return; // its transaction is open: wait for it
        this.owner = null;
        continue;
      }
      const batch = owner.pending.length === 1 ? owner.pending[0]! : Buffer.concat(owner.pending);
      owner.pending = [];
      owner.midUnit = true;
      let reply: Uint8Array;
      try {
        reply = this.options.backend.execProtocolRawSync(batch);
      } catch (error) {
        this.options.onError?.(error);
        this.drop(owner);
        continue;
      }
      const status = lastReadyStatus(reply);
      if (status !== null) {
        owner.status = status;
        owner.midUnit = false;
      }
      if (reply.length > 0 && !owner.socket.destroyed) owner.socket.write(reply);
    }
  }

  private fatal(connection: Connection, code: string, text: string): void {
    connection.socket.end(backendMessage("E", cstring("SFATAL"), cstring(`C${code}`), cstring(`M${text}`), Buffer.from([0])));
    connection.phase = "closed";
    this.connections.delete(connection);
  }

  /** A client gone mid-transaction must not leave the session to the next one in that state. */
  private drop(connection: Connection): void {
    if (connection.phase === "closed" && !this.connections.has(connection)) return;
    connection.phase = "closed";
    this.connections.delete(connection);
    connection.pending = [];
    const queued = this.waiting.indexOf(connection);
    if (queued >= 0) this.waiting.splice(queued, 1);
    if (this.owner === connection) {
      try {
        if (connection.midUnit) this.options.backend.execProtocolRawSync(backendMessage("S"));
        if (connection.midUnit || connection.status !== IDLE) this.options.backend.execProtocolRawSync(backendMessage("Q", cstring("ROLLBACK")));
      } catch (error) {
        this.options.onError?.(error);
      }
      this.owner = null;
    }
    connection.socket.destroy();
    this.schedule();
  }
}

/** The status byte of the last ReadyForQuery in a reply, or null when it holds none. */
function lastReadyStatus(reply: Uint8Array): number | null {
  let status: number | null = null;
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let offset = 0; offset + 5 <= reply.length; ) {
    const type = reply[offset]!;
    const length = view.getInt32(offset + 1);
    if (type === READY_FOR_QUERY && offset + 5 < reply.length) status = reply[offset + 5]!;
    offset += 1 + length;
  }
  return status;
}

function backendMessage(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function cstring(value: string): Buffer {
  return Buffer.concat([Buffer.from(value, "utf8"), Buffer.from([0])]);
}
