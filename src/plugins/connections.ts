// What the HTTP server does with connections, beyond routes: a deadline for request bodies, and a
// graceful drain at shutdown. Node gives a deadline for headers (requestTimeout) but none for a
// body once its headers are in, and its server.close() drops idle keep-alive connections at once,
// racing the requests their clients are sending; no Fastify plugin covers either, so they are here.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import createError from '@fastify/error'
import fp from 'fastify-plugin'

interface ConnectionOptions {
  /** How long a body may take to arrive once its headers are in (ms). */
  bodyTimeoutMs: number
  /** At shutdown, the longest wait for clients to finish with their connections (ms). */
  drainMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    connections: { drain(): Promise<void>; readonly draining: boolean }
  }
}

const BodyTimeoutError = createError('SP_ERR_REQUEST_TIMEOUT', 'body: must arrive within %d s of the headers', 408)

/** A connection with no request in it and no byte from its client for this long is closed at shutdown. */
const IDLE_MS = 250
const TICK_MS = 25
const DRAIN_MS = 10_000

/** Node's response in progress on a socket (internal, stable since Node 0.x): a request is being answered. */
const answering = (socket: Socket) => (socket as Socket & { _httpMessage?: unknown })._httpMessage != null

export default fp<ConnectionOptions>(
  async (app, { bodyTimeoutMs, drainMs = DRAIN_MS }) => {
    const { server } = app
    // Only requests with a body get a timer: a check-in by GET pays one header lookup.
    server.on('request', (req: IncomingMessage) => {
      const { headers } = req
      if ((headers['content-length'] === undefined || headers['content-length'] === '0') && headers['transfer-encoding'] === undefined) return
      const timer = setTimeout(() => {
        // The body parser fails with it, and the error handler answers 408 and closes the connection.
        if (!req.complete) req.emit('error', new BodyTimeoutError(bodyTimeoutMs / 1000))
      }, bodyTimeoutMs)
      req.once('end', () => clearTimeout(timer))
      req.once('close', () => clearTimeout(timer))
    })

    const sockets = new Set<Socket>()
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    })

    let draining = false
    /**
     * Stops accepting, answers every request already received (each one's answer says Connection:
     * close, so that its client opens no further request on it), closes connections once their
     * clients have been silent a moment, and returns when none is left or after drainMs. For a
     * shutdown, before app.close(): that would drop the idle connections at once.
     */
    const drain = async () => {
      if (!server.listening) return
      draining = true
      const lastAnswer = ({ server: from, response }: { server: unknown; response: ServerResponse }) => {
        if (from === server) response.shouldKeepAlive = false
      }
      subscribe('http.server.request.start', lastAnswer as (message: unknown) => void)
      // Not http.Server.close(): it would also drop the idle connections at once.
      NetServer.prototype.close.call(server)
      const seen = new Map<Socket, { bytes: number; at: number }>()
      const until = Date.now() + drainMs
      try {
        while (sockets.size > 0 && Date.now() < until) {
          const now = Date.now()
          for (const socket of sockets) {
            const last = seen.get(socket)
            if (answering(socket) || last === undefined || last.bytes !== socket.bytesRead) seen.set(socket, { bytes: socket.bytesRead, at: now })
            else if (now - last.at >= IDLE_MS) socket.end()
          }
          await new Promise((resolve) => setTimeout(resolve, TICK_MS))
        }
      } finally {
        unsubscribe('http.server.request.start', lastAnswer as (message: unknown) => void)
      }
    }
    app.decorate('connections', {
      drain,
      get draining() {
        return draining
      },
    })
  },
  { name: 'connections' },
)
