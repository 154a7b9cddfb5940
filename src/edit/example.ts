/**
 * What `edit` of a file that does not exist starts from: sops's example document for the store
 * (stores.go ExampleComplexTree for YAML and JSON, ExampleSimpleTree for INI, ExampleFlatTree for
 * dotenv, a line of text for binary). TOML has no sops store; it gets the complex example.
 */
import { Comment, TreeMap, TreeSeq } from '../core/tree.js'
import type { Format } from '../formats/format.js'

const WELCOME = 'Welcome to SOPS! Edit this file as you please!'

function complexTree(): TreeMap {
  return new TreeMap([
    { key: 'hello', value: WELCOME },
    { key: 'example_key', value: 'example_value' },
    new Comment(' Example comment'),
    { key: 'example_array', value: new TreeSeq(['example_value1', 'example_value2']) },
    { key: 'example_number', value: 1234.56789 },
    { key: 'example_booleans', value: new TreeSeq([true, false]) },
  ])
}

function simpleTree(): TreeMap {
  return new TreeMap([
    {
      key: 'Welcome!',
      value: new TreeMap([new Comment(' This is an example file.'), { key: 'hello', value: WELCOME }, { key: 'example_key', value: 'example_value' }]),
    },
  ])
}

function flatTree(): TreeMap {
  return new TreeMap([
    new Comment(' This is an example file.'),
    { key: 'hello', value: WELCOME },
    { key: 'example_key', value: 'example_value' },
    { key: 'example_multiline', value: 'foo\nbar\nbaz' },
  ])
}

const EXAMPLE_TREES = { 'complex-tree': complexTree, 'simple-tree': simpleTree, 'flat-tree': flatTree } as const

/** The plaintext bytes of the example document in `format` (sops's EmitExample), as the format declares it. */
export function exampleDocument(format: Format): Uint8Array {
  const example = format.capabilities.example
  if (example === 'text') return Buffer.from(WELCOME)
  return format.emit({ branches: [EXAMPLE_TREES[example]()], metadata: undefined })
}
