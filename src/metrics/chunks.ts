// The exposition's bytes: chunks taken from a pool and used again once sent, and a writer that
// appends text, label bytes and sample values to them without a string per sample. Split from
// families.ts, which says what the families are; this says how their bytes are written.

// prom-client's getValueAsString, for a value that is not a finite number.
const valueString = (v: number) => (Number.isNaN(v) ? 'Nan' : Number.isFinite(v) ? `${v}` : v < 0 ? '-Inf' : '+Inf')

// The longest sample value, "-1.7976931348623157e+308", and the space and newline around it.
export const MAX_VALUE = 26
/**
 * Bytes per chunk of the exposition. A scrape of 100k items writes about 100 MB; in chunks it is
 * sent as it is written, and memory holds what the socket has not taken yet, not the whole body.
 */
const CHUNK_BYTES = 1 << 18

/**
 * Chunk memory, used again once a chunk has been sent. A scrape of 100k items writes about 100 MB:
 * in fresh buffers each time, that much outside the heap made V8 run a full collection or two per
 * scrape (a quarter of its time) and raised the resident size by as much.
 */
export class ChunkPool {
  readonly #free: ArrayBuffer[] = []
  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const free = size <= CHUNK_BYTES ? this.#free.pop() : undefined
    return free === undefined ? Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, size)) : Buffer.from(free)
  }
  /** A chunk that nothing reads any more (it was sent): its memory serves the next one. */
  give(chunk: Uint8Array) {
    if (chunk.buffer.byteLength === CHUNK_BYTES && this.#free.length < POOL_MAX) this.#free.push(chunk.buffer as ArrayBuffer)
  }
}
/** Chunks a pool keeps: what a socket holds at once, about. */
const POOL_MAX = 64

/** Writes the families into chunks: no string per sample, little for the GC. */
export class Writer {
  buf: Buffer
  pos = 0
  /** Chunks filled and not yet taken. */
  #full: Buffer[] = []
  constructor(readonly pool: ChunkPool) {
    this.buf = pool.take(CHUNK_BYTES)
  }
  /** Makes room for `n` more bytes: a new chunk when this one cannot hold them. */
  room(n: number) {
    if (this.pos + n <= this.buf.length) return
    if (this.pos > 0) this.#full.push(this.buf.subarray(0, this.pos))
    else this.pool.give(this.buf)
    this.buf = this.pool.take(n)
    this.pos = 0
  }
  /** The chunks filled so far; with `all` (at the end), the one under way too. */
  take(all = false): Buffer[] {
    if (all) {
      if (this.pos > 0) this.#full.push(this.buf.subarray(0, this.pos))
      else this.pool.give(this.buf)
      this.buf = Buffer.alloc(0)
      this.pos = 0
    }
    const taken = this.#full
    this.#full = []
    return taken
  }
  text(s: string) {
    this.room(Buffer.byteLength(s))
    this.pos += this.buf.write(s, this.pos)
  }
  /** TypedArray#set: Buffer#copy makes a view object per call, which is most of the cost at 100k series. */
  bytes(b: Uint8Array) {
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
  value(v: number) {
    // Most samples are small integers (states, intervals, counts) or times and durations in whole
    // milliseconds: their digits are written directly, without a string and a call into C++ each.
    if (v >= 0 && v <= 0xffffffff && v % 1 === 0) {
      this.digits(v)
      return
    }
    if (v > 0 && v < 1e11) {
      // A value of whole milliseconds (n / 1000) prints as n / 1000 exactly, trailing zeros left
      // out: below 1e11 a double's spacing is far finer than 0.001, so no shorter decimal reads
      // back as the same number. Anything else takes JavaScript's own spelling.
      const ms = Math.round(v * 1000)
      if (ms / 1000 === v) {
        const whole = Math.floor(ms / 1000)
        let fraction = ms - whole * 1000
        this.digits(whole)
        if (fraction !== 0) {
          let width = 3
          while (fraction % 10 === 0) {
            fraction /= 10
            width--
          }
          this.buf[this.pos++] = 46 // '.'
          const end = this.pos + width
          for (let pos = end; pos > this.pos; ) {
            this.buf[--pos] = 48 + (fraction % 10)
            fraction = Math.floor(fraction / 10)
          }
          this.pos = end
        }
        return
      }
    }
    this.pos += this.buf.write(valueString(v), this.pos, 'latin1')
  }
  /** The decimal digits of a non-negative integer below 2^53. */
  digits(v: number) {
    const { buf } = this
    const count = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : Math.floor(Math.log10(v)) + 1
    let pos = this.pos + count
    this.pos = pos
    do {
      buf[--pos] = 48 + (v % 10)
      v = Math.floor(v / 10)
    } while (v > 0)
  }
}
