/**
 * The chat room of `examples/chat.ts` on many processes or machines: every
 * node publishes each line to a Redis channel and writes what Redis
 * delivers to its own users, so users connected to different nodes see
 * each other, `Connected:` and `Disconnected:` included.
 *
 *     deno run --allow-net=0.0.0.0:4040,127.0.0.1:6379 examples/chat_cluster.ts [port] [redis host:port] [hostname] [balancers]
 *
 * Start one `redis-server`, then as many nodes as you like (each on its own
 * port, or on its own machine), and put a TCP load balancer in front (see
 * docs/deploying.md, "Running on many machines"). `balancers` is a
 * comma-separated list of the balancers' address ranges (e.g.
 * `10.0.0.0/24`): connections from them must start with a PROXY header
 * (HAProxy's `send-proxy-v2`), so `Connected:` shows each user's own
 * address; the balancer's health checks (`check-send-proxy`) are served
 * silently. A node on loopback behind a balancer on the same machine:
 *
 *     deno run --allow-net=127.0.0.1 examples/chat_cluster.ts 4041 127.0.0.1:6379 127.0.0.1 127.0.0.1/32
 *
 * The broker is a Redis pub/sub channel, reached through two
 * `examples/resp_client.ts` connections (a subscribed connection serves
 * nothing else), both with `reconnect`. While Redis is away a node keeps
 * serving its own users: their lines go straight to them, and lines of
 * other nodes published meanwhile are lost (Redis pub/sub keeps no
 * history). Once Redis is back the node joins the channel again by itself.
 *
 * @module
 */
import { type AddressInput, engine, Server, Stream } from "../mod.ts";
import { RespClient } from "./resp_client.ts";

/** The Redis channel the nodes share. */
export const CHAT_CHANNEL = "pants:chat";

const RECONNECT = { initialDelay: 250, maxDelay: 5000 };

/** One user: lines in, to the whole cluster. */
export class ClusterUser extends Stream {
  #ip = "";

  override onConnect(): void {
    if (this.proxyHeader?.command === "local") return this.close(); // a health check
    this.readDelimiter = "\r\n";
    this.encoding = "utf-8";
    const remote = this.remoteAddress;
    this.#ip = remote !== null && "hostname" in remote ? remote.hostname : "?";
    this.node.say(`Connected: ${this.#ip}`);
  }

  override onRead(line: string): void {
    this.node.say(`${this.#ip}: ${line}`);
  }

  override onClose(): void {
    if (this.#ip !== "") this.node.say(`Disconnected: ${this.#ip}`);
  }

  /** The node that accepted this user. */
  get node(): ChatNode {
    return this.server as ChatNode;
  }
}

/** The broker's subscribed connection: hands each message to the node. */
class Subscription extends RespClient {
  constructor(readonly node: ChatNode) {
    super({ engine: node.engine });
  }

  override onMessage(_channel: string, message: string | Uint8Array): void {
    this.node.tell(String(message));
  }
}

/** A chat node: a server whose room spans every node on the same Redis. */
export class ChatNode extends Server<ClusterUser> {
  override ConnectionClass = ClusterUser;
  /** Settles once the node first joined the room's Redis channel. */
  readonly joined: Promise<number>;
  readonly #publisher: RespClient;
  readonly #subscription: Subscription;

  /**
   * @param redis Where Redis listens.
   */
  constructor(redis: AddressInput) {
    super();
    this.#publisher = new RespClient({ engine: this.engine }).connect(redis, {
      reconnect: RECONNECT,
    });
    this.#subscription = new Subscription(this).connect(redis, { reconnect: RECONNECT });
    this.joined = this.#subscription.subscribe(CHAT_CHANNEL); // joined again on reconnect
    this.joined.catch(() => {});
  }

  /** Says `line` to the whole room: through Redis, or to this node's users while it is away. */
  say(line: string): void {
    if (!this.#publisher.connected || !this.#subscription.subscribed) return this.tell(line);
    this.#publisher.command("PUBLISH", CHAT_CHANNEL, line).catch(() => this.tell(line));
  }

  /** Writes `line` to this node's users; one too slow to keep up (`maxWriteBuffer`) is dropped. */
  tell(line: string): void {
    for (const user of this.channels.values()) {
      if (!user.connected) continue;
      try {
        user.write(`${line}\r\n`);
      } catch {
        user.close({ flush: false }); // not the broker's connection: everyone else goes on
      }
    }
  }

  override onClose(): void {
    this.#publisher.close();
    this.#subscription.close();
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 4040);
  const [host, redisPort] = (Deno.args[1] ?? "127.0.0.1:6379").split(":");
  const hostname = Deno.args[2];
  const balancers = Deno.args[3];
  const node = new ChatNode([host!, Number(redisPort)]);
  if (balancers !== undefined) node.proxyProtocol = { trusted: balancers.split(",") };
  node.listen(hostname === undefined ? port : [hostname, port]);
  node.joined.then(() => console.log(`joined ${CHAT_CHANNEL}`), () => {});
  await engine.start();
}
