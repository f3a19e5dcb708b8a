package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// testApp is the app runCommand would hand a command: the default
// configuration on a fresh database in UTC, stdin from in, stdout and
// stderr captured, stop stages that the test moves with stop.receive.
type testApp struct {
	*app
	out, errb *lockedBuffer // tail writes its log while the test reads
}

func newTestApp(t *testing.T, in string) testApp {
	t.Helper()
	out, errb := new(lockedBuffer), new(lockedBuffer)
	a := newApp(context.Background(), strings.NewReader(in), out, errb, func(string) string { return "" })
	a.stop = newStopper(context.Background(), errb, func(code int) { t.Errorf("the stop exited %d", code) })
	cfg := DefaultConfig()
	cfg.DB = filepath.Join(t.TempDir(), "lamers.db")
	cfg.Timezone = "UTC"
	a.configure(cfg)
	return testApp{a, out, errb}
}

// runCmd runs c as runCommand would, on the graceful stage.
func (ta testApp) runCmd(c command, args ...string) error {
	return c.run(ta.stop.context(), ta.app, args)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
