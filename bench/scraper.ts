// A Prometheus-like scraper in its own process: GET /metrics (OpenMetrics) every second until
// stopped, then prints how many scrapes it made and the slowest, in milliseconds.
const url = process.argv[2]!
let scrapes = 0
let slowest = 0
let running = true
process.once('SIGTERM', () => (running = false))
while (running) {
  const started = performance.now()
  await (await fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0' } })).arrayBuffer()
  const took = performance.now() - started
  scrapes++
  slowest = Math.max(slowest, took)
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - took)))
}
process.stdout.write(`${JSON.stringify({ scrapes, slowest })}\n`)
