/** Plaintext inputs for the differential tier, one rich sample per format sops has. */

export const YAML_SAMPLE = `# top comment
name: app   # trailing comment
port: 8080
ratio: 1.50
big: 123456789012345678901
huge_int: 9007199254740993
negative: -42
exp: 1e3
enabled: true
off: false
nothing: null
tilde: ~
empty: ""
when: 2024-01-02T03:04:05Z
date_only: 2024-01-02
quoted_time: "2024-01-02T03:04:05Z"
list:
  - a
  - 2
  - 3.5
  - true
nested:
  deep:
    key: "va\\"l"
    other: 'single'
multi: |
  line1
  line2
folded: >
  folded
  text
keep: |+
  kept

strip: |-
  stripped
uni: "héllo ☃ 😀"
tab: "a\\tb"
empty_map: {}
empty_list: []
flow: {a: 1, b: [x, y]}
`

export const YAML_MULTIDOC = `a: 1
b: two
---
c: [1, 2]
---
# doc comment
d:
  e: f
`

export const JSON_SAMPLE = `{
  "name": "app",
  "port": 8080,
  "ratio": 1.5,
  "big": 123456789012345678901,
  "huge_int": 9007199254740993,
  "neg": -42,
  "exp": 1e3,
  "t": true,
  "f": false,
  "n": null,
  "l": [1, "x", {"k": "v"}, [], {}],
  "e": "",
  "u": "h\\u00e9 ☃ 😀",
  "esc": "a\\"b\\\\c\\n\\t<&>",
  "nested": {"deep": {"key": "value"}}
}
`

export const JSON_ARRAY = `[1, "two", {"three": 3}]
`

export const DOTENV_SAMPLE = `A=1
# a comment
B=hello world
C="quoted value"
D='single'
EMPTY=
URL=https://example.com/?a=b&c=d
MULTI="line1\\nline2"
spaced = value
UNI=héllo
`

export const INI_SAMPLE = `; top comment
global = outside

[database]
host = db.example.com
port = 5432
; section comment
password = s3cr3t

[empty]

[unicode]
name = héllo ☃
quoted = "with quotes"
`

export const BINARY_SAMPLE = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff))

export interface Sample {
  name: string
  format: 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary'
  content: string | Buffer
}

export const SAMPLES: Sample[] = [
  { name: 'rich.yaml', format: 'yaml', content: YAML_SAMPLE },
  { name: 'multidoc.yaml', format: 'yaml', content: YAML_MULTIDOC },
  { name: 'rich.json', format: 'json', content: JSON_SAMPLE },
  { name: 'rich.env', format: 'dotenv', content: DOTENV_SAMPLE },
  { name: 'rich.ini', format: 'ini', content: INI_SAMPLE },
  { name: 'blob.bin', format: 'binary', content: BINARY_SAMPLE },
]

export function extOf(format: Sample['format']): string {
  return format === 'dotenv' ? 'env' : format === 'binary' ? 'bin' : format
}
