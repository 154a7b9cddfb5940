/**
 * sops tree -> yaml.v3 Node -> emitter events, mirroring sops's stores/yaml/store.go
 * (appendTreeBranch / appendSequence / treeValueToNode) and yaml.v3's encode.go (`node()` and
 * `Node.Encode`). The emitter (yaml-emitter.ts) then turns the events into text.
 */
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import { formatFloatYAML } from '../core/gofmt.js'
import { analyzeScalar, emitEvents, selectScalarStyle, type EmitEvent, type ScalarAnalysis, type ScalarStyle } from './yaml-emitter.js'
import { canUsePlain } from './yaml-resolve.js'
import { isUtf8 } from 'node:buffer'

interface YNode {
  kind: 'map' | 'seq' | 'scalar'
  head: string
  line: string
  foot: string
  content: YNode[]
  value: string
  style: ScalarStyle
  /** analyzeScalar(value), computed once here and reused by the emitter. */
  analysis?: ScalarAnalysis
  /** An explicit tag (`!!binary`, `!!merge`), written before the scalar. */
  tag?: string
}

function newNode(kind: YNode['kind']): YNode {
  return { kind, head: '', line: '', foot: '', content: [], value: '', style: 'plain' }
}

// ---- sops: comment lists -> node comment strings -------------------------------------------

function joinComments(comments: string[]): string {
  return '#' + comments.join('\n#')
}

function addHead(node: YNode, comments: string[]): void {
  if (comments.length === 0) return
  const c = joinComments(comments)
  node.head = node.head ? c + '\n' + node.head : c
}

function addFoot(node: YNode, comments: string[]): void {
  if (comments.length === 0) return
  const c = joinComments(comments)
  node.foot = node.foot ? node.foot + '\n' + c : c
}

function addLine(node: YNode, comments: string[]): void {
  if (comments.length === 0) return
  const c = joinComments(comments)
  node.line = node.line ? node.line + '\n' + c : c
}

/** stores/yaml appendTreeBranch: comments before a key become its head, inline ones the value's line comment. */
function mapToNode(map: TreeMap): YNode {
  const mapping = newNode('map')
  let head: string[] = []
  let inline: string[] = []
  let beginning = true
  for (const item of map.items) {
    if (item instanceof Comment) {
      ;(item.inline ? inline : head).push(item.text)
      continue
    }
    if (beginning) {
      addHead(mapping, head)
      head = []
      beginning = false
    }
    const keyNode = scalarNode(item.key)
    addHead(keyNode, head)
    head = []
    const valueNode = valueToNode(item.value)
    addLine(valueNode, inline)
    inline = []
    mapping.content.push(keyNode, valueNode)
  }
  const rest = [...head, ...inline]
  if (rest.length > 0) {
    if (beginning) addHead(mapping, rest)
    else addFoot(mapping.content[mapping.content.length - 2]!, rest)
  }
  return mapping
}

/** stores/yaml appendSequence: same shape as mapToNode with items instead of keys. */
function seqToNode(seq: TreeSeq): YNode {
  const sequence = newNode('seq')
  let head: string[] = []
  let inline: string[] = []
  let beginning = true
  for (const item of seq.items) {
    if (item instanceof Comment) {
      ;(item.inline ? inline : head).push(item.text)
      continue
    }
    if (beginning) {
      addHead(sequence, head)
      head = []
      beginning = false
    }
    const itemNode = valueToNode(item)
    addHead(itemNode, head)
    head = []
    addLine(itemNode, inline)
    inline = []
    sequence.content.push(itemNode)
  }
  const rest = [...head, ...inline]
  if (rest.length > 0) {
    if (beginning) addHead(sequence, rest)
    else addFoot(sequence.content[sequence.content.length - 1]!, rest)
  }
  return sequence
}

function valueToNode(v: Value): YNode {
  if (v instanceof TreeMap) return mapToNode(v)
  if (v instanceof TreeSeq) return seqToNode(v)
  return scalarNode(v)
}

/**
 * yaml.v3 Node.Encode(v) for a scalar: the value is marshalled and re-parsed, so the node's
 * style is whatever the first emission chose at document-root context. Strings that would
 * resolve to another type (or are YAML 1.1 bools/sexagesimals) are double-quoted, strings with
 * a newline ask for a literal block, and the emitter may fall back to quoting.
 */
function scalarNode(v: Scalar | string): YNode {
  const node = newNode('scalar')
  const text = scalarText(v)
  node.value = text.value
  if (!text.isString) return node
  const s = text.value
  if (text.tag !== undefined) node.tag = text.tag
  const plain = text.tag !== undefined ? !s.includes('\n') && canUsePlain(s) : canUsePlain(s)
  const requested: ScalarStyle = s.includes('\n') ? 'literal' : plain ? 'plain' : 'double'
  node.analysis = analyzeScalar(s)
  node.style = selectScalarStyle(s, requested, node.analysis, 0, false)
  return node
}

/**
 * yaml.v3's encodeBase64 for `!!binary`: 70 characters a line, each line ending in a newline
 * once the text reaches 70 characters (so it becomes a literal block).
 */
function binaryText(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  if (b64.length < 70) return b64
  let out = ''
  for (let i = 0; i < b64.length; i += 70) out += b64.slice(i, i + 70) + '\n'
  return out
}

function scalarText(v: Scalar | string): { value: string; isString: boolean; tag?: string } {
  if (v === null) return { value: 'null', isString: false }
  if (typeof v === 'string') return { value: v, isString: true }
  if (typeof v === 'bigint') return { value: v.toString(), isString: false }
  if (typeof v === 'number') return { value: formatFloatYAML(v), isString: false }
  if (typeof v === 'boolean') return { value: v ? 'true' : 'false', isString: false }
  if (v instanceof Timestamp) return { value: v.text, isString: false }
  if (v instanceof Literal) return scalarText(v.value)
  // Bytes (a binary file's data): a Go string in sops, which yaml.v3 writes as `!!binary` when it is not UTF-8.
  if (isUtf8(v)) return { value: new TextDecoder().decode(v), isString: true }
  return { value: binaryText(v), isString: true, tag: '!!binary' }
}

// ---- yaml.v3 encoder: node -> events --------------------------------------------------------

function nodeEvents(node: YNode, tail: string, out: EmitEvent[]): void {
  switch (node.kind) {
    case 'seq':
      out.push({ type: 'SEQ_START', flow: false, head: node.head })
      for (const child of node.content) nodeEvents(child, '', out)
      out.push({ type: 'SEQ_END', line: node.line, foot: node.foot })
      return
    case 'map': {
      out.push({ type: 'MAP_START', flow: false, tail, head: node.head })
      // A key's foot comment is emitted as the *next* key's tail (after the whole value).
      let keyTail = ''
      for (let i = 0; i + 1 < node.content.length; i += 2) {
        const k = node.content[i]!
        nodeEvents({ ...k, foot: '' }, keyTail, out)
        keyTail = k.foot
        nodeEvents(node.content[i + 1]!, '', out)
      }
      out.push({ type: 'MAP_END', tail: keyTail, line: node.line, foot: node.foot })
      return
    }
    case 'scalar':
      out.push({ type: 'SCALAR', value: node.value, style: node.style, analysis: node.analysis, head: node.head, line: node.line, foot: node.foot, tail, ...(node.tag === undefined ? {} : { tag: node.tag }) })
      return
  }
}

/** sops EmitPlainFile: one document per branch (metadata already appended by the caller). */
export function encodeBranches(branches: TreeMap[], indent: number): string {
  const events: EmitEvent[] = [{ type: 'STREAM_START' }]
  for (const branch of branches) {
    events.push({ type: 'DOC_START', implicit: true })
    nodeEvents(mapToNode(branch), '', events)
    events.push({ type: 'DOC_END', implicit: true })
  }
  events.push({ type: 'STREAM_END' })
  return emitEvents(events, indent)
}

/** sops EmitValue: yaml.Marshal(treeValueToNode(v)) — default indent 4. */
export function encodeValue(v: Value): string {
  const events: EmitEvent[] = [{ type: 'STREAM_START' }, { type: 'DOC_START', implicit: true }]
  nodeEvents(valueToNode(v), '', events)
  events.push({ type: 'DOC_END', implicit: true }, { type: 'STREAM_END' })
  return emitEvents(events, 4)
}
