/** The conformance suite over TCP v4, TCP v6 and Unix sockets. */
import { conformanceSuite } from "./_conformance.ts";

const tmp = Deno.makeTempDirSync({ prefix: "pants-unix-" });
let sockets = 0;

conformanceSuite({
  name: "TCP v4",
  listenAddress: () => ["127.0.0.1", 0],
  connect: (address) =>
    Deno.connect({ hostname: "127.0.0.1", port: (address as Deno.NetAddr).port }),
});

conformanceSuite({
  name: "TCP v6",
  listenAddress: () => ["::1", 0],
  connect: (address) => Deno.connect({ hostname: "::1", port: (address as Deno.NetAddr).port }),
});

conformanceSuite({
  name: "Unix sockets",
  listenAddress: () => ({ path: `${tmp}/s${sockets++}.sock` }),
  connect: (address) => Deno.connect({ transport: "unix", path: (address as Deno.UnixAddr).path }),
});
