/**
 * The ordered document tree every format parses into and emits from — sops's TreeBranch model.
 *
 * Order matters everywhere (the MAC hashes values in document order), so maps are arrays of
 * items, never JS objects. Comments are items too: their position decides which values they
 * govern (encrypted_comment_regex) and where they are re-emitted.
 */

/** A comment line; `text` is what follows the `#` (or `;`), e.g. "# foo" -> " foo". */
export class Comment {
  constructor(
    public text: string,
    /** An end-of-line comment (`key: v # c`): kept inline when encrypting, as sops does. */
    public inline = false,
  ) {}
}

/**
 * A YAML timestamp (Go time.Time). `text` is the canonical Go MarshalText form
 * (RFC 3339, nanoseconds with trailing zeros trimmed, `Z` for UTC), which is what both
 * the MAC and the `type:time` plaintext use.
 */
export class Timestamp {
  constructor(public readonly text: string) {}
  toString(): string {
    return this.text
  }
}

/**
 * A value that must come back spelled exactly as in its source (TOML keeps `0xDEAD_BEEF`,
 * `'literal'`, `1_000`). The MAC hashes `value`; the ciphertext holds `raw` under the `type:`
 * of `value`. Only formats without an upstream sops store (TOML) produce these.
 */
export class Literal {
  constructor(
    readonly value: Exclude<Scalar, null | Literal>,
    readonly raw: string,
    /** A `type:` tag of the format's own (e.g. TOML `datetime-local`); default: the type of `value`. */
    readonly typeTag?: string,
  ) {}
}

/**
 * A leaf value, typed as sops types it:
 *  string -> str, bigint -> int (int64), number -> float (float64), boolean -> bool,
 *  Timestamp -> time, Uint8Array -> raw bytes (binary files; encrypted as `str`), null -> skipped.
 */
export type Scalar = string | bigint | number | boolean | Timestamp | Uint8Array | Literal | null

export interface MapEntry {
  key: string
  value: Value
}

export type MapItem = MapEntry | Comment
export type SeqItem = Value | Comment

export class TreeMap {
  constructor(public items: MapItem[] = []) {}

  /** The first entry with this key (JSON may carry duplicates; sops uses the first). */
  entry(key: string): MapEntry | undefined {
    for (const item of this.items) if (!(item instanceof Comment) && item.key === key) return item
    return undefined
  }

  get(key: string): Value | undefined {
    return this.entry(key)?.value
  }

  entries(): MapEntry[] {
    return this.items.filter((i): i is MapEntry => !(i instanceof Comment))
  }

  /** Replace the first entry's value or append a new entry. */
  set(key: string, value: Value): void {
    const existing = this.entry(key)
    if (existing) existing.value = value
    else this.items.push({ key, value })
  }

  /** Remove every entry with this key; returns whether one existed. */
  delete(key: string): boolean {
    const before = this.items.length
    this.items = this.items.filter((i) => i instanceof Comment || i.key !== key)
    return this.items.length !== before
  }
}

export class TreeSeq {
  constructor(public items: SeqItem[] = []) {}

  /** The elements without comments. */
  values(): Value[] {
    return this.items.filter((i): i is Value => !(i instanceof Comment))
  }
}

export type Value = Scalar | TreeMap | TreeSeq

/** A document: one branch per YAML document (one for every other format). */
export interface Tree {
  branches: TreeMap[]
}

export function isMapEntry(item: MapItem): item is MapEntry {
  return !(item instanceof Comment)
}

export function isScalar(v: Value | Comment): v is Scalar {
  return !(v instanceof TreeMap || v instanceof TreeSeq || v instanceof Comment)
}

/**
 * Deep copy of a value (scalars are immutable, so only containers are copied). Iterative: trees
 * as deep as JSON allows (10,000 levels) must not overflow the call stack.
 */
export function cloneValue<T extends Value>(v: T): T {
  if (!(v instanceof TreeMap || v instanceof TreeSeq)) return v
  const pending: [TreeMap | TreeSeq, TreeMap | TreeSeq][] = []
  const copy = (x: Value): Value => {
    if (!(x instanceof TreeMap || x instanceof TreeSeq)) return x
    const empty = x instanceof TreeMap ? new TreeMap() : new TreeSeq()
    pending.push([x, empty])
    return empty
  }
  const root = copy(v)
  while (pending.length > 0) {
    const [source, target] = pending.pop()!
    if (source instanceof TreeMap) {
      target.items = source.items.map((i) => (i instanceof Comment ? new Comment(i.text, i.inline) : { key: i.key, value: copy(i.value) }))
    } else {
      target.items = source.items.map((i) => (i instanceof Comment ? new Comment(i.text, i.inline) : copy(i)))
    }
  }
  return root as T
}

/** Human name of a value's sops type, for messages ("Expected encrypted value as string, but got int"). */
export function typeName(v: Value | Comment): string {
  if (v instanceof Comment) return 'comment'
  if (v instanceof TreeMap) return 'map'
  if (v instanceof TreeSeq) return 'list'
  if (v === null) return 'null'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'bigint') return 'int'
  if (typeof v === 'number') return 'float64'
  if (typeof v === 'boolean') return 'bool'
  if (v instanceof Timestamp) return 'time.Time'
  if (v instanceof Literal) return typeName(v.value)
  return '[]uint8'
}

/**
 * Replace every Literal by its typed value, in place. A format that keeps source spellings
 * (TOML) hands Literals to the core; another format emitting the same tree (decrypt with
 * --output-type, --extract) must see plain sops values.
 */
export function stripLiterals(value: Value): Value {
  if (value instanceof Literal) return value.value
  // Iterative, like cloneValue: containers are changed in place, so order does not matter.
  const pending: Value[] = [value]
  while (pending.length > 0) {
    const v = pending.pop()
    if (v instanceof TreeMap) {
      for (const item of v.items) {
        if (item instanceof Comment) continue
        if (item.value instanceof Literal) item.value = item.value.value
        else pending.push(item.value)
      }
    } else if (v instanceof TreeSeq) {
      v.items = v.items.map((i) => {
        if (i instanceof Literal) return i.value
        if (i instanceof TreeMap || i instanceof TreeSeq) pending.push(i)
        return i
      })
    }
  }
  return value
}
