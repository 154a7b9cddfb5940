/**
 * A port of the libyaml emitter as shipped in go.yaml.in/yaml/v3 v3.0.4 (emitterc.go), limited
 * to what sops feeds it: block and empty-flow collections, scalars (untagged, or with the
 * `!!binary` tag yaml.v3 gives bytes that are not UTF-8), comments. No anchors or directives. Byte-compatibility with sops output depends on the details here
 * (indent rules, comment placement, quoting fallbacks), so the structure follows the Go code
 * function by function; names are kept close to the originals to make re-checking easy.
 *
 * Notes on v3.0.4 specifics: best_width is -1 (infinite), so long scalars are never folded;
 * a literal scalar header always ends its line even without a line comment.
 */

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal' | 'folded'

interface Comments {
  head?: string
  line?: string
  foot?: string
  tail?: string
}

export type EmitEvent =
  | { type: 'STREAM_START' }
  | { type: 'STREAM_END' }
  | ({ type: 'DOC_START'; implicit: boolean } & Comments)
  | ({ type: 'DOC_END'; implicit: boolean } & Comments)
  | ({ type: 'SEQ_START'; flow: boolean } & Comments)
  | ({ type: 'SEQ_END' } & Comments)
  | ({ type: 'MAP_START'; flow: boolean } & Comments)
  | ({ type: 'MAP_END' } & Comments)
  | ({ type: 'SCALAR'; value: string; style: ScalarStyle; analysis?: ScalarAnalysis; tag?: string } & Comments)

type State =
  | 'STREAM_START'
  | 'FIRST_DOCUMENT_START'
  | 'DOCUMENT_START'
  | 'DOCUMENT_CONTENT'
  | 'DOCUMENT_END'
  | 'FLOW_SEQUENCE_FIRST_ITEM'
  | 'FLOW_SEQUENCE_TRAIL_ITEM'
  | 'FLOW_SEQUENCE_ITEM'
  | 'FLOW_MAPPING_FIRST_KEY'
  | 'FLOW_MAPPING_TRAIL_KEY'
  | 'FLOW_MAPPING_KEY'
  | 'FLOW_MAPPING_SIMPLE_VALUE'
  | 'FLOW_MAPPING_VALUE'
  | 'BLOCK_SEQUENCE_FIRST_ITEM'
  | 'BLOCK_SEQUENCE_ITEM'
  | 'BLOCK_MAPPING_FIRST_KEY'
  | 'BLOCK_MAPPING_KEY'
  | 'BLOCK_MAPPING_SIMPLE_VALUE'
  | 'BLOCK_MAPPING_VALUE'
  | 'END'

// ---- character classes (yamlprivateh.go), on code points ---------------------------------

const isSpace = (c: number | undefined): boolean => c === 0x20
const isBlank = (c: number | undefined): boolean => c === 0x20 || c === 0x09
const isBreak = (c: number | undefined): boolean => c === 0x0d || c === 0x0a || c === 0x85 || c === 0x2028 || c === 0x2029
const isBlankz = (c: number | undefined): boolean => isBlank(c) || isBreak(c) || c === 0 || c === undefined
const isBom = (c: number): boolean => c === 0xfeff

/** libyaml is_printable; note that characters outside the BMP are *not* printable. */
export function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  )
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

export interface ScalarAnalysis {
  multiline: boolean
  flowPlainAllowed: boolean
  blockPlainAllowed: boolean
  singleQuotedAllowed: boolean
  blockAllowed: boolean
}

/** yaml_emitter_analyze_scalar (emitter.unicode is always true for yaml.v3). */
const FIRST_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`'].map((c) => c.charCodeAt(0)))
const FLOW_INDICATORS = new Set([...',?[]{}'].map((c) => c.charCodeAt(0)))
const HASH = 0x23
const COLON = 0x3a
const QUESTION = 0x3f
const DASH = 0x2d

function codePointLength(value: string): number {
  let n = value.length
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) n--
  }
  return n
}

/**
 * An encrypted value (base64 inside the ENC frame: no blanks, no breaks, `,[]:` inside) always
 * analyses the same way; it is most of the scalars of an encrypted file, so it skips the loop.
 */
const ENC_VALUE = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z-]+\]$/

export function analyzeScalar(value: string): ScalarAnalysis {
  if (value.length > 40 && ENC_VALUE.test(value)) {
    return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true }
  }
  return analyzeScalarChars(value)
}

/** yaml_emitter_analyze_scalar proper, character by character. */
export function analyzeScalarChars(value: string): ScalarAnalysis {
  const n = value.length
  if (n === 0) {
    return { multiline: false, flowPlainAllowed: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false }
  }
  let blockIndicators = false
  let flowIndicators = false
  let lineBreaks = false
  let specialCharacters = false
  let tabCharacters = false
  let leadingSpace = false
  let leadingBreak = false
  let trailingSpace = false
  let trailingBreak = false
  let breakSpace = false
  let spaceBreak = false
  let previousSpace = false
  let previousBreak = false

  if (value.startsWith('---') || value.startsWith('...')) {
    blockIndicators = true
    flowIndicators = true
  }
  let precededByWhitespace = true
  // Walk code points by index (no per-character allocation: this runs for every scalar).
  for (let i = 0; i < n; ) {
    const c = value.codePointAt(i)!
    const next = i + (c > 0xffff ? 2 : 1)
    const isLast = next >= n
    const followedByWhitespace = isLast || isBlank(value.charCodeAt(next))
    if (i === 0) {
      if (FIRST_INDICATORS.has(c)) {
        flowIndicators = true
        blockIndicators = true
      } else if (c === QUESTION || c === COLON) {
        flowIndicators = true
        if (followedByWhitespace) blockIndicators = true
      } else if (c === DASH && followedByWhitespace) {
        flowIndicators = true
        blockIndicators = true
      }
    } else if (FLOW_INDICATORS.has(c)) {
      flowIndicators = true
    } else if (c === COLON) {
      flowIndicators = true
      if (followedByWhitespace) blockIndicators = true
    } else if (c === HASH && precededByWhitespace) {
      flowIndicators = true
      blockIndicators = true
    }

    if (c === 0x09) tabCharacters = true
    else if (!isPrintable(c)) specialCharacters = true

    if (isSpace(c)) {
      if (i === 0) leadingSpace = true
      if (isLast) trailingSpace = true
      if (previousBreak) breakSpace = true
      previousSpace = true
      previousBreak = false
    } else if (isBreak(c)) {
      lineBreaks = true
      if (i === 0) leadingBreak = true
      if (isLast) trailingBreak = true
      if (previousSpace) spaceBreak = true
      previousSpace = false
      previousBreak = true
    } else {
      previousSpace = false
      previousBreak = false
    }
    precededByWhitespace = isBlankz(c)
    i = next
  }

  const a: ScalarAnalysis = { multiline: lineBreaks, flowPlainAllowed: true, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true }
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    a.flowPlainAllowed = false
    a.blockPlainAllowed = false
  }
  if (trailingSpace) a.blockAllowed = false
  if (breakSpace) {
    a.flowPlainAllowed = false
    a.blockPlainAllowed = false
    a.singleQuotedAllowed = false
  }
  if (spaceBreak || tabCharacters || specialCharacters) {
    a.flowPlainAllowed = false
    a.blockPlainAllowed = false
    a.singleQuotedAllowed = false
  }
  if (spaceBreak || specialCharacters) a.blockAllowed = false
  if (lineBreaks) {
    a.flowPlainAllowed = false
    a.blockPlainAllowed = false
  }
  if (flowIndicators) a.flowPlainAllowed = false
  if (blockIndicators) a.blockPlainAllowed = false
  return a
}

/** yaml_emitter_select_scalar_style for an untagged scalar. */
export function selectScalarStyle(value: string, requested: ScalarStyle, a: ScalarAnalysis, flowLevel: number, simpleKey: boolean): ScalarStyle {
  let style = requested
  if (simpleKey && a.multiline) style = 'double'
  if (style === 'plain') {
    if ((flowLevel > 0 && !a.flowPlainAllowed) || (flowLevel === 0 && !a.blockPlainAllowed)) style = 'single'
    if (value.length === 0 && (flowLevel > 0 || simpleKey)) style = 'single'
  }
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double'
  if ((style === 'literal' || style === 'folded') && (!a.blockAllowed || flowLevel > 0 || simpleKey)) style = 'double'
  return style
}

const INFINITE_WIDTH = 2 ** 31 - 1

/** Runs a complete event stream through the emitter and returns the text. */
export function emitEvents(events: EmitEvent[], indent: number): string {
  const e = new Emitter(events, indent)
  e.run()
  return e.out.join('')
}

class Emitter {
  out: string[] = []
  private head = 0
  private state: State = 'STREAM_START'
  private states: State[] = []
  private indents: number[] = []
  private indent = -1
  private flowLevel = 0
  private simpleKeyContext = false
  private column = 0
  private whitespace = true
  private indention = true
  private footIndent = -1
  private bestIndent: number
  private readonly bestWidth = INFINITE_WIDTH

  private headComment = ''
  private lineComment = ''
  private footComment = ''
  private tailComment = ''
  private keyLineComment = ''

  private scalarValue = ''
  private scalarAnalysis: ScalarAnalysis = analyzeScalar('')
  private scalarStyle: ScalarStyle = 'plain'

  constructor(
    private readonly events: EmitEvent[],
    indent: number,
  ) {
    this.bestIndent = indent
  }

  run(): void {
    while (this.head < this.events.length) {
      const ev = this.events[this.head]!
      this.analyzeEvent(ev)
      this.stateMachine(ev)
      this.head++
    }
  }

  // ---- output primitives ----

  private put(s: string): void {
    this.out.push(s)
    this.column++
  }

  private putBreak(): void {
    this.out.push('\n')
    this.column = 0
    this.indention = true
  }

  /** write(): one character (code point) of a value. */
  private write(ch: string): void {
    this.out.push(ch)
    this.column++
  }

  private writeAll(s: string): void {
    this.out.push(s)
    this.column += codePointLength(s)
  }

  private writeBreak(ch: string): void {
    if (ch === '\n') {
      this.putBreak()
    } else {
      this.write(ch)
      this.column = 0
      this.indention = true
    }
  }

  private writeIndent(): void {
    const indent = Math.max(this.indent, 0)
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak()
    if (this.footIndent === indent) this.putBreak()
    while (this.column < indent) this.put(' ')
    this.whitespace = true
    this.footIndent = -1
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ')
    this.writeAll(indicator)
    this.whitespace = isWhitespace
    this.indention = this.indention && isIndention
  }

  // ---- events ----

  private analyzeEvent(ev: EmitEvent): void {
    if ('head' in ev && ev.head) this.headComment = ev.head
    if ('line' in ev && ev.line) this.lineComment = ev.line
    if ('foot' in ev && ev.foot) this.footComment = ev.foot
    if ('tail' in ev && ev.tail) this.tailComment = ev.tail
    if (ev.type === 'SCALAR') {
      this.scalarValue = ev.value
      this.scalarAnalysis = ev.analysis ?? analyzeScalar(ev.value)
    }
  }

  private next(): EmitEvent | undefined {
    return this.events[this.head + 1]
  }

  private popState(): void {
    this.state = this.states.pop()!
  }

  private popIndent(): void {
    this.indent = this.indents.pop()!
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent)
    if (this.indent < 0) {
      this.indent = flow ? this.bestIndent : 0
    } else if (!indentless) {
      if (this.states[this.states.length - 1] === 'BLOCK_SEQUENCE_ITEM') {
        // The first indent inside a sequence just skips the "- " indicator.
        this.indent += 2
      } else {
        this.indent = this.bestIndent * Math.floor((this.indent + this.bestIndent) / this.bestIndent)
      }
    }
  }

  private stateMachine(ev: EmitEvent): void {
    switch (this.state) {
      case 'STREAM_START':
        return this.emitStreamStart(ev)
      case 'FIRST_DOCUMENT_START':
        return this.emitDocumentStart(ev, true)
      case 'DOCUMENT_START':
        return this.emitDocumentStart(ev, false)
      case 'DOCUMENT_CONTENT':
        return this.emitDocumentContent(ev)
      case 'DOCUMENT_END':
        return this.emitDocumentEnd(ev)
      case 'FLOW_SEQUENCE_FIRST_ITEM':
        return this.emitFlowSequenceItem(ev, true, false)
      case 'FLOW_SEQUENCE_TRAIL_ITEM':
        return this.emitFlowSequenceItem(ev, false, true)
      case 'FLOW_SEQUENCE_ITEM':
        return this.emitFlowSequenceItem(ev, false, false)
      case 'FLOW_MAPPING_FIRST_KEY':
        return this.emitFlowMappingKey(ev, true, false)
      case 'FLOW_MAPPING_TRAIL_KEY':
        return this.emitFlowMappingKey(ev, false, true)
      case 'FLOW_MAPPING_KEY':
        return this.emitFlowMappingKey(ev, false, false)
      case 'FLOW_MAPPING_SIMPLE_VALUE':
        return this.emitFlowMappingValue(ev, true)
      case 'FLOW_MAPPING_VALUE':
        return this.emitFlowMappingValue(ev, false)
      case 'BLOCK_SEQUENCE_FIRST_ITEM':
        return this.emitBlockSequenceItem(ev, true)
      case 'BLOCK_SEQUENCE_ITEM':
        return this.emitBlockSequenceItem(ev, false)
      case 'BLOCK_MAPPING_FIRST_KEY':
        return this.emitBlockMappingKey(ev, true)
      case 'BLOCK_MAPPING_KEY':
        return this.emitBlockMappingKey(ev, false)
      case 'BLOCK_MAPPING_SIMPLE_VALUE':
        return this.emitBlockMappingValue(ev, true)
      case 'BLOCK_MAPPING_VALUE':
        return this.emitBlockMappingValue(ev, false)
      case 'END':
        throw new Error('expected nothing after STREAM-END')
    }
  }

  private emitStreamStart(ev: EmitEvent): void {
    if (ev.type !== 'STREAM_START') throw new Error('expected STREAM-START')
    if (this.bestIndent < 2 || this.bestIndent > 9) this.bestIndent = 2
    this.indent = -1
    this.column = 0
    this.whitespace = true
    this.indention = true
    this.footIndent = -1
    this.state = 'FIRST_DOCUMENT_START'
  }

  private emitDocumentStart(ev: EmitEvent, first: boolean): void {
    if (ev.type === 'DOC_START') {
      const implicit = ev.implicit && first
      if (!implicit) {
        this.writeIndent()
        this.writeIndicator('---', true, false, false)
        this.writeIndent()
      }
      if (this.headComment.length > 0) {
        this.processHeadComment()
        this.putBreak()
      }
      this.state = 'DOCUMENT_CONTENT'
      return
    }
    if (ev.type === 'STREAM_END') {
      this.state = 'END'
      return
    }
    throw new Error('expected DOCUMENT-START or STREAM-END')
  }

  private emitDocumentContent(ev: EmitEvent): void {
    this.states.push('DOCUMENT_END')
    this.processHeadComment()
    this.emitNode(ev, true, false, false, false)
    this.processLineComment()
    this.processFootComment()
  }

  private emitDocumentEnd(ev: EmitEvent): void {
    if (ev.type !== 'DOC_END') throw new Error('expected DOCUMENT-END')
    // [Go] Force document foot separation.
    this.footIndent = 0
    this.processFootComment()
    this.footIndent = -1
    this.writeIndent()
    if (!ev.implicit) {
      this.writeIndicator('...', true, false, false)
      this.writeIndent()
    }
    this.state = 'DOCUMENT_START'
  }

  private pendingCommentLength(): number {
    return this.lineComment.length + this.footComment.length + this.tailComment.length
  }

  private emitFlowSequenceItem(ev: EmitEvent, first: boolean, trail: boolean): void {
    if (first) {
      this.writeIndicator('[', true, true, false)
      this.increaseIndent(true, false)
      this.flowLevel++
    }
    if (ev.type === 'SEQ_END') {
      this.flowLevel--
      this.popIndent()
      if (this.column === 0) this.writeIndent()
      this.writeIndicator(']', false, false, false)
      this.processLineComment()
      this.processFootComment()
      this.popState()
      return
    }
    if (!first && !trail) this.writeIndicator(',', false, false, false)
    this.processHeadComment()
    if (this.column === 0) this.writeIndent()
    if (this.column > this.bestWidth) this.writeIndent()
    this.states.push(this.pendingCommentLength() > 0 ? 'FLOW_SEQUENCE_TRAIL_ITEM' : 'FLOW_SEQUENCE_ITEM')
    this.emitNode(ev, false, true, false, false)
    if (this.pendingCommentLength() > 0) this.writeIndicator(',', false, false, false)
    this.processLineComment()
    this.processFootComment()
  }

  private emitFlowMappingKey(ev: EmitEvent, first: boolean, trail: boolean): void {
    if (first) {
      this.writeIndicator('{', true, true, false)
      this.increaseIndent(true, false)
      this.flowLevel++
    }
    if (ev.type === 'MAP_END') {
      if (this.headComment.length + this.footComment.length + this.tailComment.length > 0 && !first && !trail) {
        this.writeIndicator(',', false, false, false)
      }
      this.processHeadComment()
      this.flowLevel--
      this.popIndent()
      this.writeIndicator('}', false, false, false)
      this.processLineComment()
      this.processFootComment()
      this.popState()
      return
    }
    if (!first && !trail) this.writeIndicator(',', false, false, false)
    this.processHeadComment()
    if (this.column === 0) this.writeIndent()
    if (this.column > this.bestWidth) this.writeIndent()
    if (this.checkSimpleKey()) {
      this.states.push('FLOW_MAPPING_SIMPLE_VALUE')
      this.emitNode(ev, false, false, true, true)
      return
    }
    this.writeIndicator('?', true, false, false)
    this.states.push('FLOW_MAPPING_VALUE')
    this.emitNode(ev, false, false, true, false)
  }

  private emitFlowMappingValue(ev: EmitEvent, simple: boolean): void {
    if (simple) {
      this.writeIndicator(':', false, false, false)
    } else {
      if (this.column > this.bestWidth) this.writeIndent()
      this.writeIndicator(':', true, false, false)
    }
    this.states.push(this.pendingCommentLength() > 0 ? 'FLOW_MAPPING_TRAIL_KEY' : 'FLOW_MAPPING_KEY')
    this.emitNode(ev, false, false, true, false)
    if (this.pendingCommentLength() > 0) this.writeIndicator(',', false, false, false)
    this.processLineComment()
    this.processFootComment()
  }

  private emitBlockSequenceItem(ev: EmitEvent, first: boolean): void {
    // compact_sequence_indent is off in sops, so the v3.0.4 `seq` adjustment never applies.
    if (first) this.increaseIndent(false, false)
    if (ev.type === 'SEQ_END') {
      this.popIndent()
      this.popState()
      return
    }
    this.processHeadComment()
    this.writeIndent()
    this.writeIndicator('-', true, false, true)
    this.states.push('BLOCK_SEQUENCE_ITEM')
    this.emitNode(ev, false, true, false, false)
    this.processLineComment()
    this.processFootComment()
  }

  private emitBlockMappingKey(ev: EmitEvent, first: boolean): void {
    if (first) this.increaseIndent(false, false)
    this.processHeadComment()
    if (ev.type === 'MAP_END') {
      this.popIndent()
      this.popState()
      return
    }
    this.writeIndent()
    if (this.lineComment.length > 0) {
      // [Go] A line comment was provided for the key; render it with the value later.
      this.keyLineComment = this.lineComment
      this.lineComment = ''
    }
    if (this.checkSimpleKey()) {
      this.states.push('BLOCK_MAPPING_SIMPLE_VALUE')
      this.emitNode(ev, false, false, true, true)
      return
    }
    this.writeIndicator('?', true, false, true)
    this.states.push('BLOCK_MAPPING_VALUE')
    this.emitNode(ev, false, false, true, false)
  }

  private emitBlockMappingValue(ev: EmitEvent, simple: boolean): void {
    if (simple) {
      this.writeIndicator(':', false, false, false)
    } else {
      this.writeIndent()
      this.writeIndicator(':', true, false, true)
    }
    if (this.keyLineComment.length > 0) {
      if (ev.type === 'SCALAR') {
        if (this.lineComment.length === 0) {
          this.lineComment = this.keyLineComment
          this.keyLineComment = ''
        }
      } else if ((ev.type === 'MAP_START' || ev.type === 'SEQ_START') && !(ev.type === 'SEQ_START' && ev.flow)) {
        // An indented block follows, so write the key's comment right now.
        ;[this.lineComment, this.keyLineComment] = [this.keyLineComment, this.lineComment]
        this.processLineComment()
        ;[this.lineComment, this.keyLineComment] = [this.keyLineComment, this.lineComment]
      }
    }
    this.states.push('BLOCK_MAPPING_KEY')
    this.emitNode(ev, false, false, true, false)
    this.processLineComment()
    this.processFootComment()
  }

  // yaml.v3 also records the root, sequence and mapping contexts; nothing in this port reads them.
  private emitNode(ev: EmitEvent, _root: boolean, _sequence: boolean, _mapping: boolean, simpleKey: boolean): void {
    this.simpleKeyContext = simpleKey
    switch (ev.type) {
      case 'SCALAR':
        return this.emitScalar(ev)
      case 'SEQ_START':
        this.state = this.flowLevel > 0 || ev.flow || this.checkEmpty('SEQ_START', 'SEQ_END') ? 'FLOW_SEQUENCE_FIRST_ITEM' : 'BLOCK_SEQUENCE_FIRST_ITEM'
        return
      case 'MAP_START':
        this.state = this.flowLevel > 0 || ev.flow || this.checkEmpty('MAP_START', 'MAP_END') ? 'FLOW_MAPPING_FIRST_KEY' : 'BLOCK_MAPPING_FIRST_KEY'
        return
      default:
        throw new Error(`expected SCALAR, SEQUENCE-START or MAPPING-START, got ${ev.type}`)
    }
  }

  private checkEmpty(start: EmitEvent['type'], end: EmitEvent['type']): boolean {
    return this.events[this.head]?.type === start && this.next()?.type === end
  }

  private checkSimpleKey(): boolean {
    const ev = this.events[this.head]!
    switch (ev.type) {
      case 'SCALAR':
        if (this.scalarAnalysis.multiline) return false
        return utf8Length(this.scalarValue) <= 128
      case 'SEQ_START':
        return this.checkEmpty('SEQ_START', 'SEQ_END')
      case 'MAP_START':
        return this.checkEmpty('MAP_START', 'MAP_END')
      default:
        return false
    }
  }

  private emitScalar(ev: Extract<EmitEvent, { type: 'SCALAR' }>): void {
    this.scalarStyle = selectScalarStyle(this.scalarValue, ev.style, this.scalarAnalysis, this.flowLevel, this.simpleKeyContext)
    if (ev.tag !== undefined) this.processTag(ev.tag)
    this.increaseIndent(true, false)
    this.processScalar()
    this.popIndent()
    this.popState()
  }

  /** yaml_emitter_process_tag / write_tag_handle for a shorthand tag (`!!binary`). */
  private processTag(tag: string): void {
    if (!this.whitespace) this.put(' ')
    this.writeAll(tag)
    this.whitespace = false
    this.indention = false
  }

  private processScalar(): void {
    const value = this.scalarValue
    const allowBreaks = !this.simpleKeyContext
    switch (this.scalarStyle) {
      case 'plain':
        return this.writePlainScalar(value, allowBreaks)
      case 'single':
        return this.writeSingleQuotedScalar(value, allowBreaks)
      case 'double':
        return this.writeDoubleQuotedScalar(value, allowBreaks)
      case 'literal':
        return this.writeLiteralScalar(value)
      case 'folded':
        return this.writeFoldedScalar(value)
    }
  }

  // ---- comments ----

  private processHeadComment(): void {
    if (this.tailComment.length > 0) {
      this.writeIndent()
      this.writeComment(this.tailComment)
      this.tailComment = ''
      this.footIndent = Math.max(this.indent, 0)
    }
    if (this.headComment.length === 0) return
    this.writeIndent()
    this.writeComment(this.headComment)
    this.headComment = ''
  }

  /** v3.0.4 yaml_emitter_process_line_comment_linebreak. */
  private processLineComment(linebreak = false): void {
    if (this.lineComment.length === 0) {
      if (linebreak) this.putBreak()
      return
    }
    if (!this.whitespace) this.put(' ')
    this.writeComment(this.lineComment)
    this.lineComment = ''
  }

  private processFootComment(): void {
    if (this.footComment.length === 0) return
    this.writeIndent()
    this.writeComment(this.footComment)
    this.footComment = ''
    this.footIndent = Math.max(this.indent, 0)
  }

  private writeComment(comment: string): void {
    let breaks = false
    let pound = false
    for (const ch of comment) {
      if (isBreak(ch.codePointAt(0))) {
        this.writeBreak(ch)
        breaks = true
        pound = false
      } else {
        if (breaks) this.writeIndent()
        if (!pound) {
          if (ch !== '#') {
            this.put('#')
            this.put(' ')
          }
          pound = true
        }
        this.write(ch)
        this.indention = false
        breaks = false
      }
    }
    if (!breaks) this.putBreak()
    this.whitespace = true
  }

  // ---- scalar writers ----

  private writePlainScalar(value: string, allowBreaks: boolean): void {
    // Fast path: without line breaks (and with yaml.v3's unlimited width) nothing is folded,
    // so the whole value goes out at once — same bytes as the per-character loop below.
    if (this.bestWidth === INFINITE_WIDTH && !/[\n\r\u0085\u2028\u2029]/.test(value)) {
      if (value.length > 0) {
        if (!this.whitespace) this.put(' ')
        this.writeAll(value)
        this.whitespace = false
      }
      this.indention = false
      return
    }
    const cps = [...value]
    if (cps.length > 0 && !this.whitespace) this.put(' ')
    let spaces = false
    let breaks = false
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!
      const c = ch.codePointAt(0)!
      if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && !isSpace(cps[i + 1]?.codePointAt(0))) {
          this.writeIndent()
        } else {
          this.write(ch)
        }
        spaces = true
      } else if (isBreak(c)) {
        if (!breaks && ch === '\n') this.putBreak()
        this.writeBreak(ch)
        breaks = true
      } else {
        if (breaks) this.writeIndent()
        this.write(ch)
        this.indention = false
        spaces = false
        breaks = false
      }
    }
    if (cps.length > 0) this.whitespace = false
    this.indention = false
  }

  private writeSingleQuotedScalar(value: string, allowBreaks: boolean): void {
    const cps = [...value]
    this.writeIndicator("'", true, false, false)
    let spaces = false
    let breaks = false
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!
      const c = ch.codePointAt(0)!
      if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i > 0 && i < cps.length - 1 && !isSpace(cps[i + 1]?.codePointAt(0))) {
          this.writeIndent()
        } else {
          this.write(ch)
        }
        spaces = true
      } else if (isBreak(c)) {
        if (!breaks && ch === '\n') this.putBreak()
        this.writeBreak(ch)
        breaks = true
      } else {
        if (breaks) this.writeIndent()
        if (ch === "'") this.put("'")
        this.write(ch)
        this.indention = false
        spaces = false
        breaks = false
      }
    }
    this.writeIndicator("'", false, false, false)
    this.whitespace = false
    this.indention = false
  }

  private writeDoubleQuotedScalar(value: string, allowBreaks: boolean): void {
    const cps = [...value]
    let spaces = false
    this.writeIndicator('"', true, false, false)
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!
      const c = ch.codePointAt(0)!
      if (!isPrintable(c) || isBom(c) || isBreak(c) || ch === '"' || ch === '\\') {
        this.put('\\')
        for (const out of escapeFor(c)) this.put(out)
        spaces = false
      } else if (isSpace(c)) {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i > 0 && i < cps.length - 1) {
          this.writeIndent()
          if (isSpace(cps[i + 1]?.codePointAt(0))) this.put('\\')
        } else {
          this.write(ch)
        }
        spaces = true
      } else {
        this.write(ch)
        spaces = false
      }
    }
    this.writeIndicator('"', false, false, false)
    this.whitespace = false
    this.indention = false
  }

  private writeBlockScalarHints(value: string): void {
    const cps = [...value]
    const c0 = cps[0]?.codePointAt(0)
    if (isSpace(c0) || isBreak(c0)) this.writeIndicator(String(this.bestIndent), false, false, false)
    let chomp = ''
    if (cps.length === 0) {
      chomp = '-'
    } else {
      const last = cps.length - 1
      if (!isBreak(cps[last]!.codePointAt(0))) chomp = '-'
      else if (last === 0) chomp = '+'
      else if (isBreak(cps[last - 1]!.codePointAt(0))) chomp = '+'
    }
    if (chomp) this.writeIndicator(chomp, false, false, false)
  }

  private writeLiteralScalar(value: string): void {
    this.writeIndicator('|', true, false, false)
    this.writeBlockScalarHints(value)
    this.processLineComment(true)
    this.whitespace = true
    let breaks = true
    for (const ch of value) {
      if (isBreak(ch.codePointAt(0))) {
        this.writeBreak(ch)
        breaks = true
      } else {
        if (breaks) this.writeIndent()
        this.write(ch)
        this.indention = false
        breaks = false
      }
    }
  }

  private writeFoldedScalar(value: string): void {
    // sops never requests folded style (yaml.v3 only uses it for nodes parsed as folded), but
    // keep the writer complete for emitValue of such nodes.
    const cps = [...value]
    this.writeIndicator('>', true, false, false)
    this.writeBlockScalarHints(value)
    this.processLineComment(true)
    this.whitespace = true
    let breaks = true
    let leadingSpaces = true
    for (let i = 0; i < cps.length; i++) {
      const ch = cps[i]!
      const c = ch.codePointAt(0)!
      if (isBreak(c)) {
        if (!breaks && !leadingSpaces && ch === '\n') {
          let k = 0
          while (isBreak(cps[k]?.codePointAt(0))) k++
          if (!isBlankz(cps[k]?.codePointAt(0))) this.putBreak()
        }
        this.writeBreak(ch)
        breaks = true
      } else {
        if (breaks) {
          this.writeIndent()
          leadingSpaces = isBlank(c)
        }
        if (!breaks && isSpace(c) && !isSpace(cps[i + 1]?.codePointAt(0)) && this.column > this.bestWidth) {
          this.writeIndent()
        } else {
          this.write(ch)
        }
        this.indention = false
        breaks = false
      }
    }
  }
}

/** The escape sequence (after the backslash) of a double-quoted character. */
function escapeFor(c: number): string {
  const named: Record<number, string> = {
    0x00: '0',
    0x07: 'a',
    0x08: 'b',
    0x09: 't',
    0x0a: 'n',
    0x0b: 'v',
    0x0c: 'f',
    0x0d: 'r',
    0x1b: 'e',
    0x22: '"',
    0x5c: '\\',
    0x85: 'N',
    0xa0: '_',
    0x2028: 'L',
    0x2029: 'P',
  }
  const n = named[c]
  if (n !== undefined) return n
  const hex = c.toString(16).toUpperCase()
  if (c <= 0xff) return 'x' + hex.padStart(2, '0')
  if (c <= 0xffff) return 'u' + hex.padStart(4, '0')
  return 'U' + hex.padStart(8, '0')
}
