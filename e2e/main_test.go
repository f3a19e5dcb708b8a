package e2e

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary runs twice: once as started by "go test" (the outer run:
// preflight, build lamers, re-execute) and once more under "unshare --net",
// inside the private network namespace (the inner run, which does the work).
const (
	// envInner carries the work directory into the inner run; its presence
	// is what makes a run the inner one.
	envInner = "LAMERS_E2E_INNER"
	// envBinary names a lamers binary to test instead of building one
	// from the module (e.g. a release build).
	envBinary = "LAMERS_E2E_BINARY"
	// envKeep=1 keeps the work directory (configs, daemon and resolver
	// logs, databases) and prints its path.
	envKeep = "LAMERS_E2E_KEEP"
)

// installCmd is what a skip message tells the user to run. A plain
// "apt-get install postfix" would ask questions, or configure and start a
// Postfix on the host: deps.sh preseeds it and starts nothing.
const installCmd = "sudo e2e/deps.sh (installs bind9 bind9-utils bind9-dnsutils unbound nsd tinydns rsyslog postfix prometheus, starting no service)"

// tools are the programs the suite runs, with the Debian package of each.
var tools = []struct{ bin, pkg string }{
	{"named", "bind9"},
	{"named-checkconf", "bind9-utils"},
	{"rndc", "bind9-utils"},
	{"dig", "bind9-dnsutils"},
	{"unbound", "unbound"},
	{"unbound-checkconf", "unbound"},
	{"unbound-control", "unbound"},
	{"nsd", "nsd"},
	{"nsd-checkconf", "nsd"},
	{"tinydns", "tinydns"},
	{"tinydns-data", "tinydns"},
	{"rsyslogd", "rsyslog"},
	{"unshare", "util-linux"},
	{"mount", "mount"},
	{"ip", "iproute2"},
	{"postfix", "postfix"},
	{"postconf", "postfix"},
	{"postmap", "postfix"},
	{"postalias", "postfix"},
	{"postqueue", "postfix"},
	{"promtool", "prometheus"}, // promtool check metrics, on lamers run's /metrics
}

var (
	// notRunnable is set in the outer run when the suite cannot run here;
	// TestLab then skips (or fails under CI=true) with it.
	notRunnable string
	// workDir is the inner run's work directory.
	workDir string
)

func inCI() bool { return os.Getenv("CI") == "true" }

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.list").Value.String() != "" {
		// go test -list (make fuzz lists every package's targets): no lab.
		os.Exit(m.Run())
	}
	if dir := os.Getenv(envInner); dir != "" {
		os.Exit(innerMain(m, dir))
	}
	os.Exit(outerMain(m))
}

// outerMain checks the prerequisites, builds lamers into a fresh work
// directory and re-executes this test binary, with the same arguments,
// inside a new network namespace. Its exit code is the inner run's.
func outerMain(m *testing.M) int {
	if why := preflight(); why != "" {
		notRunnable = why
		return m.Run()
	}
	removeOrphanedWorkDirs()
	work, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	os.WriteFile(filepath.Join(work, ownerFile), []byte(ownerID(os.Getpid())), 0o644)
	keep := os.Getenv(envKeep) == "1"
	defer func() {
		if keep {
			os.Remove(filepath.Join(work, ownerFile)) // never an orphan
			fmt.Fprintf(os.Stderr, "e2e: work directory kept: %s\n", work)
			return
		}
		os.RemoveAll(work)
	}()
	buildLamers(work)

	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--", self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), envInner+"="+work)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	// If this process dies, so does the inner run (and, through the same
	// setting on every daemon, everything it started).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start the inner run: %v\n", err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			// The inner run stops its daemons by PID and exits.
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		if ee.ExitCode() < 0 {
			fmt.Fprintf(os.Stderr, "e2e: inner run: %v\n", err)
			return 2
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: inner run: %v\n", err)
		return 2
	}
	return 0
}

// Work directories are named workPrefix* in the temp directory and hold
// ownerFile: the PID and start time of the outer run that made them.
const (
	workPrefix = "lamers-e2e-"
	ownerFile  = "owner"
)

func ownerID(pid int) string { return fmt.Sprintf("%d %s", pid, startTime(pid)) }

// removeOrphanedWorkDirs deletes the work directories of earlier runs that
// were killed (SIGKILL gives no chance to clean up; the daemons died with
// them through PR_SET_PDEATHSIG, only the files stay). A directory whose
// owner still runs, or without an owner file, is left alone.
func removeOrphanedWorkDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
			continue
		}
		if ownerID(pid) != string(b) {
			os.RemoveAll(d)
		}
	}
}

// preflight says why the suite cannot run on this machine, or "".
func preflight() string {
	if os.Geteuid() != 0 {
		return "the e2e suite needs root (network namespaces, daemons on port 53)"
	}
	var missing []string
	for _, tl := range tools {
		if _, err := exec.LookPath(tl.bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (package %s)", tl.bin, tl.pkg))
		}
	}
	if len(missing) > 0 {
		return "missing tools: " + strings.Join(missing, ", ")
	}
	if out, err := exec.Command("unshare", "--net", "--", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create a network namespace (unshare --net: %v: %s); CAP_SYS_ADMIN is needed",
			err, strings.TrimSpace(string(out)))
	}
	return ""
}

// buildLamers builds ./cmd/lamers into work/lamers the way everything else
// builds it (no flags). A failure is written to work/build-error.txt: the
// lab still runs, and every stage that needs the binary fails with it.
func buildLamers(work string) {
	if bin := os.Getenv(envBinary); bin != "" {
		b, err := os.ReadFile(bin)
		if err == nil {
			err = os.WriteFile(filepath.Join(work, "lamers"), b, 0o755)
		}
		if err != nil {
			os.WriteFile(filepath.Join(work, "build-error.txt"), []byte(envBinary+": "+err.Error()), 0o644)
		}
		return
	}
	root, err := moduleRoot()
	if err == nil {
		goBin := "go"
		if p, lerr := exec.LookPath("go"); lerr == nil {
			goBin = p
		} else if gr := os.Getenv("GOROOT"); gr != "" {
			goBin = filepath.Join(gr, "bin", "go")
		}
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(work, "lamers"), "./cmd/lamers")
		cmd.Dir = root
		var out []byte
		start := time.Now()
		out, err = cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("go build ./cmd/lamers: %v\n%s", err, out)
		} else {
			fmt.Fprintf(os.Stderr, "e2e: built lamers in %.1fs\n", time.Since(start).Seconds())
		}
	}
	if err != nil {
		os.WriteFile(filepath.Join(work, "build-error.txt"), []byte(err.Error()), 0o644)
	}
}

// moduleRoot is the directory holding go.mod, above the package directory
// go test runs in.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the e2e directory")
		}
		dir = parent
	}
}

// innerMain runs the tests inside the namespace. Whatever happens (failure,
// panic on -timeout aside, SIGINT/SIGTERM) the daemons are stopped by PID;
// for the cases Go cannot intercept, every daemon carries PR_SET_PDEATHSIG.
func innerMain(m *testing.M, dir string) int {
	workDir = dir
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping every process the suite started\n", s)
		daemons.stopAll()
		os.Exit(1)
	}()
	code := m.Run()
	daemons.stopAll()
	return code
}

// registerModuleInputs stats the module's files so that go test's result
// cache (which only knows the files a test touches) is invalidated when the
// lamers sources change: the suite tests a binary built from them. It must
// run inside a test, where the testing package records file accesses.
func registerModuleInputs() {
	root, err := moduleRoot()
	if err != nil {
		return
	}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" ||
			strings.Contains(path, string(filepath.Separator)+"testdata"+string(filepath.Separator))) {
			os.Stat(path)
		}
		return nil
	})
}
