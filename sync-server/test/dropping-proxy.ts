/**
 * A weak link: a TCP proxy that cuts the connection each time another `dropEvery` bytes have gone from the client
 * to the server (counted over all connections), and counts every byte the client sent into it, headers included.
 * The bytes before a cut reach the server; the client sees its connection reset.
 */
import net from 'node:net';

export type DroppingProxy = {
  url: string;
  /** Bytes the client sent into the link, on every connection, including ones lost at a cut. */
  bytesFromClient(): number;
  drops(): number;
  close(): Promise<void>;
};

export async function startDroppingProxy(target: URL, dropEvery: number): Promise<DroppingProxy> {
  let received = 0;
  let forwarded = 0;
  let drops = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let cut = false;
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', forget);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      received += chunk.length;
      const budget = dropEvery * (drops + 1) - forwarded;
      if (chunk.length < budget) {
        forwarded += chunk.length;
        upstream.write(chunk);
        return;
      }
      cut = true;
      drops += 1;
      forwarded += budget;
      // What got through reaches the server, then the server sees the request end early; the client is reset.
      upstream.end(chunk.subarray(0, budget));
      client.resetAndDestroy();
      setTimeout(() => upstream.destroy(), 1000).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytesFromClient: () => received,
    drops: () => drops,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
