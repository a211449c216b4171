/** Plaintext documents the round-trip tests encrypt with the real sops. */

export const RICH_YAML = `# top comment

# second top comment after a blank line
name: plain value
quoted: "needs: quoting"
single: 'single # quoted'
number: 42
negative: -17
octal: 0o17
legacy_octal: 0755
hex: 0x1F
float: 3.14159
scientific: 1e10
int_float: 1234567.0
inf: .inf
bool_true: true
bool_false: false
yes_word: yes
nothing:
tilde: ~
empty_string: ""
date: 2024-01-02
datetime: 2001-12-14t21:59:43.10-05:00
unicode: "héllo wörld ✓ 日本語 🎉"
unicode_key_✓: value
multi: |
  line one
  line two
    indented line
folded: >
  folded text
  continues here

  new paragraph
keep: |+
  keep trailing

strip: |-
  strip trailing
long_line: this is a very long line of text that exceeds eighty characters so a folding emitter would wrap it
leading_space: "  leading"
trailing_space: "trailing  "
tab: "a\\tb"
colon_space: "a: b"
numeric_string: "123"
bool_string: "true"
nested:
  level1:
    level2:
      key: deep # inline comment
      other: value
    # comment in level1
    list:
      - a
      - b
      - c
  after: x
list_of_maps:
  - name: one
    value: 1
  - name: two
    value: 2
    sub:
      - x
      - y
empty_map: {}
empty_list: []
flow_map: {a: 1, b: two}
flow_list: [1, two, 3.0]
nested_lists:
  - - a
    - b
  - - c
anchors:
  base: &base
    k1: v1
    k2: v2
  derived:
    <<: *base
    k3: v3
  alias: *base
password_unencrypted: clear text
secret_unencrypted:
  inner: also clear
# trailing comment
`;

export const COMMENTS_YAML = `# head of doc
a: 1 # line a
# head of b

b:
  # head of b.x
  x: 1
  y: 2 # line y
  # foot of b (indented)
# foot at top level after b
c:
  - 1
  - 2
d: |
  literal # not a comment
  text
# before e

# another block before e
e: {f: 1} # flow line comment
g:
- unindented
- list

# trailing comment at end
`;

export const MULTI_DOC_YAML = `---
first: doc
# comment in first doc
---
# head of second doc
second: doc
list:
  - key: v
    # comment inside list map
    other: w
  - plain
...
---
third:
  deep:
    deeper:
      deepest: 1
      # foot deepest
    # foot deeper
  # foot deep
# foot third
`;

export const EDGE_YAML = `"quoted key": 1
'single key': 2
? complex key
: 3
"key: colon": 5
"#hash": 6
"123": 7
"": 9
this is a very long key that goes on and on and on and on and on and on and on and on and on and on and on: 10
multi_trailing: "line1  \\nline2"
multi_lead: "\\n\\nstarts with newlines"
crlf: "a\\r\\nb"
nel: "a\\u0085b"
ctrl: "a\\u0001b"
bom: "\\ufeffbom"
line_sep: "\\u00e9\\u2028x"
trailing_nl: "text\\n"
two_trailing: "text\\n\\n"
only_nl: "\\n"
spaces_only: "   "
dash: "-"
bracket: "[not list]"
percent: "%p"
backtick: "\`tick\`"
star: "*star"
tilde_str: "~"
dot_num: ".5"
version: "1.2.3"
time_str: "12:30"
base60: "1:30:00"
y: y
on: off
`;

/** Comments inside a list: sops itself writes them as list items and then fails its own MAC. */
export const LIST_COMMENTS_YAML = `list:
  - a
  - b # inline on item
  # comment between items
  - c
`;

export const RULES_YAML = `# sops:enc
data:
  password: secret1
  username: admin
  nested_secret: {inner: x}
  # plain comment
  note: public
metadata:
  name: app
  labels:
    - a
    - b
# sops:nocrypt
stringData_enc: s3cr3t
other_unencrypted: u
count: 3
`;

export const RICH_JSON = `{
  "string": "hello",
  "html": "<b>&amp;</b>",
  "unicode": "héllo ✓ 日本 🎉 \\u2028 line",
  "escapes": "tab\\tnl\\ncr\\rbs\\\\quote\\"ctrl\\u0001\\u007f",
  "int": 42,
  "neg": -7,
  "float": 3.5,
  "float_int": 1.0,
  "exp": 1e21,
  "small": 1.5e-7,
  "int64_max": 9223372036854775807,
  "huge": 123456789012345678901234567890,
  "true": true,
  "false": false,
  "null": null,
  "empty": "",
  "nested": {"a": {"b": [1, 2, {"c": "d"}]}, "empty_obj": {}, "empty_arr": []},
  "list": ["x", 1, 2.5, true, null, [], {}],
  "dup": 1,
  "dup": 2,
  "10": "numeric key keeps its place",
  "2": "order",
  "secret_unencrypted": "clear"
}
`;

export const APP_ENV =
  'A=1\nB=hello world\n# a comment\nC=multi\\nline\nexport D=x\nE=\nF= spaced \nG=quote"d\n' +
  'H=ünïcode ✓\nI=a=b=c\nsecret_unencrypted=clear\n#ENDCOMMENT\n';

export const APP_INI = `; top comment
[section one]
key = value
; comment before key2
key2 = value two ; inline
empty =
quoted = "  padded  "
colon: style
hash = \`has # hash\`
multi = """line1
line2"""
unicode = ✓ ü

[second]
a=1
longer_key_name=2
secret_unencrypted = clear

[empty section]
`;

export const BLOB = Buffer.concat([
  Buffer.from('binary '),
  Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80]),
  Buffer.from(' data\nwith lines\n'),
]);
