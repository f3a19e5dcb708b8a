package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README tells operators how to configure BIND and Unbound; those
// snippets must be exactly what the end-to-end suite runs them with.
func TestReadmeQuotesTestedResolverSettings(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"named-logging.conf", "unbound-logging.conf"} {
		snippet, err := os.ReadFile(filepath.Join("..", "..", "e2e", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		block := "```\n" + strings.TrimRight(string(snippet), "\n") + "\n```"
		if !strings.Contains(string(readme), block) {
			t.Errorf("README.md does not quote e2e/testdata/%s verbatim in a code block", name)
		}
	}
}

// Every TOML example of the README is a configuration lamers accepts: its
// keys exist and its values validate.
func TestReadmeConfigExamples(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```toml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d TOML examples, want the notify ones at least", len(blocks))
	}
	for i, b := range blocks {
		block, _, ok := strings.Cut(b, "```")
		if !ok {
			t.Fatalf("TOML example %d is not closed", i+1)
		}
		cfg, err := ParseConfig(strings.NewReader(block), "README.md")
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			t.Errorf("TOML example %d: %v\n%s", i+1, err, block)
		}
	}
}
