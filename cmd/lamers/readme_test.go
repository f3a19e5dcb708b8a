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
