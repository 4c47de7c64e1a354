/**
 * A TCP proxy in front of Postgres for the process tests: a database that is not there until the proxy starts
 * listening (`startTcpProxy` on a port the server was already told to use), and one that stops answering without
 * closing anything (`freeze`: a network partition, or a compute that hangs), which no driver error reports.
 */
import net from 'node:net';

export type TcpProxy = {
  /** Stops carrying bytes either way, on open and new connections alike; nothing is closed. */
  freeze(): void;
  close(): Promise<void>;
};

export async function startTcpProxy(
  listenPort: number,
  target: { host: string; port: number },
): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
      // After pipe(), which resumes its source.
      if (frozen) socket.pause();
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', resolve);
  });
  return {
    freeze() {
      frozen = true;
      // A paused socket reads nothing, so neither side's bytes reach the other.
      for (const socket of sockets) socket.pause();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
