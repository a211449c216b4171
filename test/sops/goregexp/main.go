// goregexp evaluates (pattern, input) pairs with Go's regexp package exactly as sops evaluates its
// encrypted_regex, unencrypted_regex and comment-regex rules: regexp.Match(pattern, []byte(input)),
// an unanchored search. A test peer for test/sops/regex.test.ts, built by
// `scripts/peers install goregexp`.
//
// Usage: goregexp < cases.json   (cases.json: [{"pattern": …, "input": …}])
// Prints one result per case: {"match": bool} or {"error": "…"} for a pattern Go refuses.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

type testCase struct {
	Pattern string `json:"pattern"`
	Input   string `json:"input"`
}

type result struct {
	Match *bool  `json:"match,omitempty"`
	Error string `json:"error,omitempty"`
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := make([]result, len(cases))
	for i, c := range cases {
		matched, err := regexp.Match(c.Pattern, []byte(c.Input))
		if err != nil {
			out[i] = result{Error: err.Error()}
		} else {
			out[i] = result{Match: &matched}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
