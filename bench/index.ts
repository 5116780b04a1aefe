// npm run bench: every figure measured in this run, on this machine.
import { cpus, totalmem } from 'node:os'
import { checksBench } from './checks.js'
import { flipsBench } from './flips.js'
import { httpBench, latencyUnderScrape } from './http.js'
import { generator } from './load.js'
import { postgresBench } from './postgres.js'
import { reloadBench } from './reload.js'
import { scrapeBench } from './scrape.js'
import { table } from './table.js'

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
process.stdout.write(`statuspage benchmarks on ${machine}\nthroughput rows: 32 connections from ${generator}; fixed-rate rows: autocannon\n\n`)
// `npm run bench -- scrape`, `-- checks`, `-- flips`, `-- http` or `-- postgres` runs one part;
// `-- latency` the http part's refresh p99 under scrapes of 100,000 items alone.
const only = process.argv[2]
const part = (name: string) => only === undefined || only === name
const rows = [
  ...(part('scrape') ? [...(await scrapeBench()), await reloadBench()] : []),
  ...(part('checks') ? await checksBench() : []),
  ...(part('flips') ? await flipsBench() : []),
  ...(part('http') ? await httpBench() : []),
  // Part of http, alone: its noisiest row.
  ...(only === 'latency' ? [await latencyUnderScrape(100_000)] : []),
  ...(part('postgres') ? await postgresBench() : []),
]
process.stdout.write(`${table(rows)}\n`)
