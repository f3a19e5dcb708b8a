package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/lamers-dev/lamers/store"
)

// version is set at build time with -ldflags "-X main.version=…"; the
// module version or VCS revision from the build info is used otherwise.
var version = ""

// versionCommand is `lamers version`.
type versionCommand struct{}

func (c *versionCommand) doc() commandDoc {
	return commandDoc{
		name:     "version",
		synopsis: "print version, commit, Go and SQLite versions",
		help: `It opens a scratch SQLite database in a temporary directory to read
SQLite's version, so it doubles as a smoke test of a build (a binary built
without cgo fails here).`,
	}
}

func (c *versionCommand) register(fs *flag.FlagSet) {}

func (c *versionCommand) run(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("version: unexpected argument %q", args[0])
	}
	v, commit := buildVersion()
	dir, err := os.MkdirTemp("", "lamers-version-")
	if err != nil {
		return fmt.Errorf("version: %w", err)
	}
	defer os.RemoveAll(dir)
	// SQLite's version needs a database; a scratch one never touches the
	// configured file.
	db, err := store.Open(ctx, filepath.Join(dir, "scratch.db"))
	if err != nil {
		return fmt.Errorf("version: sqlite: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	sv, err := db.SQLiteVersion(ctx)
	if err != nil {
		return fmt.Errorf("version: sqlite: %w", err)
	}
	fmt.Fprintf(a.stdout, "lamers %s\ncommit %s\n%s %s/%s\nsqlite %s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, sv)
	return nil
}

// buildVersion returns the version and the VCS commit the binary was built
// from, "-dirty" when the tree had changes.
func buildVersion() (v, commit string) {
	v, commit = "devel", "unknown"
	if version != "" {
		v = version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v, commit
	}
	if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += "-dirty"
	}
	return v, commit
}
