package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// labLog is one of the lab's logs (testdata/lab) and the format to parse
// it with.
type labLog struct {
	name   string
	format Format
	lines  [][]byte
}

// labLogs reads every lab log.
func labLogs(t *testing.T) []labLog {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "lab", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("lab logs: %v", err)
	}
	var logs []labLog
	for _, f := range files {
		l := labLog{name: filepath.Base(f), format: Auto}
		if l.name == "unbound-dump_infra.txt" {
			l.format = UnboundInfra
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l.lines = bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		logs = append(logs, l)
	}
	return logs
}

// labReference is the "now" of the lab logs.
var labReference = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
