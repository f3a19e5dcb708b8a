// Command tailbench measures `lamers tail` (or `lamers run`) as a whole
// process: a writer appends BIND lame-server lines to log files at a fixed
// rate while the database is sampled for the events committed so far.
//
//	go build -o /tmp/lamers ./cmd/lamers
//	go run ./bench/tailbench -lamers /tmp/lamers -mode rate     # highest sustained rate
//	go run ./bench/tailbench -lamers /tmp/lamers -mode latency  # write→commit delay at 1,000 lines/s
//	go run ./bench/tailbench -lamers /tmp/lamers -mode idle     # CPU and RSS at 100 lines/s
//	go run ./bench/tailbench -lamers /tmp/lamers -mode idle -command run -files 4 -rate 100
//
// With -command run, the files are the [[sources]] of `lamers run`, with
// /healthz and /metrics served on a loopback port and verify and notify
// left out (they would probe the zones of the generated lines, on the
// Internet): the daemon's own cost besides the tailer is its monitor and
// scheduler. -rate is lines per second per file in idle mode.
//
// The delay of line i is the time the sampler first saw at least i events
// committed minus the time line i was written (sampling every 5 ms, so the
// figures are upper bounds within 5 ms).
package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	bin := flag.String("lamers", "lamers", "the lamers binary")
	mode := flag.String("mode", "latency", "rate, latency or idle")
	dur := flag.Duration("duration", 10*time.Second, "how long to write at each rate")
	rates := flag.String("rates", "50000,100000,150000,200000,400000", "rates tried by -mode rate (lines/s)")
	command := flag.String("command", "tail", "the lamers command measured: tail or run")
	files := flag.Int("files", 1, "log files followed, the lines spread over them")
	idleRate := flag.Int("rate", 100, "lines/s per file in -mode idle")
	targetCPU := flag.Float64("target-cpu", 0, "in -mode idle, print MISSED above this CPU (% of one core; 0: no target)")
	targetRSS := flag.Float64("target-rss", 0, "in -mode idle, print MISSED above this mean RSS (MB; 0: no target)")
	flag.Parse()
	if *command != "tail" && *command != "run" || *files < 1 {
		fmt.Fprintln(os.Stderr, "tailbench: -command is tail or run, -files at least 1")
		os.Exit(2)
	}
	setup := daemon{bin: *bin, command: *command, files: *files}
	var err error
	switch *mode {
	case "rate":
		for _, rs := range strings.Split(*rates, ",") {
			r, perr := strconv.Atoi(strings.TrimSpace(rs))
			if perr != nil {
				err = fmt.Errorf("-rates: %w", perr)
				break
			}
			var res result
			if res, err = setup.runAt(r, *dur); err != nil {
				break
			}
			fmt.Printf("rate %7d lines/s: delay p50 %v p99 %v max %v; behind at the end %d lines\n",
				r, res.p(50), res.p(99), res.p(100), res.behind)
		}
	case "latency":
		var res result
		if res, err = setup.runAt(1000, *dur); err == nil {
			fmt.Printf("1,000 lines/s: delay p50 %v p99 %v max %v\n", res.p(50), res.p(99), res.p(100))
		}
	case "idle":
		var res result
		if res, err = setup.runAt(*idleRate**files, *dur); err == nil {
			fmt.Printf("lamers %s, %d file(s) at %d lines/s each: CPU %.2f%% of one core, RSS %.1f MB (peak %.1f MB)\n",
				*command, *files, *idleRate, res.cpu*100, res.rss, res.hwm)
			if *targetCPU > 0 && res.cpu*100 > *targetCPU {
				fmt.Printf("MISSED: CPU %.2f%% > %.2f%%\n", res.cpu*100, *targetCPU)
			}
			if *targetRSS > 0 && res.rss > *targetRSS {
				fmt.Printf("MISSED: RSS %.1f MB > %.1f MB\n", res.rss, *targetRSS)
			}
		}
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tailbench:", err)
		os.Exit(1)
	}
}

type result struct {
	delays   []time.Duration
	behind   int
	cpu      float64 // fraction of one core
	rss, hwm float64 // MB
}

func (r result) p(q int) time.Duration {
	if len(r.delays) == 0 {
		return 0
	}
	i := min(len(r.delays)*q/100, len(r.delays)-1)
	return r.delays[i].Round(time.Millisecond)
}

// line writes the i-th line: a distinct query name, one of 997 zones, each
// zone with its own lame server (997 findings, like a busy resolver's day).
func line(b *bytes.Buffer, i int) {
	z := i % 997
	fmt.Fprintf(b, "22-Nov-2026 %02d:%02d:%02d.%03d lame-servers: info: lame server resolving 'q%d.z%d.bench.example' (in 'z%d.bench.example'?): 203.0.%d.%d#53\n",
		(i/3600000)%24, (i/60000)%60, (i/1000)%60, i%1000, i, z, z, 113+z/250, 1+z%250)
}

// daemon is the lamers process measured and the files it follows.
type daemon struct {
	bin, command string
	files        int
}

// start starts the lamers command on dbPath following logs, and returns
// once it follows them.
func (dm daemon) start(dir, dbPath string, logs []string) (*exec.Cmd, error) {
	args := append([]string{"--db", dbPath, "tail"}, logs...)
	cfg, started := "/dev/null", "tail: started"
	if dm.command == "run" {
		var b strings.Builder
		b.WriteString("[run]\nlisten = \"127.0.0.1:0\"\nverify_every = \"0s\"\nnotify_every = \"0s\"\n")
		for _, l := range logs {
			fmt.Fprintf(&b, "[[sources]]\npath = %q\n", l)
		}
		cfg, started = filepath.Join(dir, "lamers.toml"), "run: started"
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		args = []string{"--db", dbPath, "run"}
	}
	cmd := exec.Command(dm.bin, args...)
	cmd.Env = append(os.Environ(), "LAMERS_CONFIG="+cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Wait until it follows the files.
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), started) {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd, nil
}

func (dm daemon) runAt(rate int, d time.Duration) (result, error) {
	var res result
	dir, err := os.MkdirTemp("", "tailbench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "lamers.db")
	logs := make([]string, dm.files)
	fs := make([]*os.File, dm.files)
	for i := range logs {
		logs[i] = filepath.Join(dir, fmt.Sprintf("lame%d.log", i))
		if fs[i], err = os.OpenFile(logs[i], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return res, err
		}
		defer fs[i].Close()
	}
	cmd, err := dm.start(dir, dbPath, logs)
	if err != nil {
		return res, err
	}
	defer cmd.Process.Kill()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return res, err
	}
	defer db.Close()
	committed := func() int {
		var n int
		db.QueryRow("SELECT coalesce(sum(count), 0) FROM findings").Scan(&n)
		return n
	}

	total := int(float64(rate) * d.Seconds())
	written := make([]time.Time, total+1) // written[i]: when line i-1 was written
	done := make(chan struct{})
	go func() {
		defer close(done)
		const tick = 10 * time.Millisecond
		start := time.Now()
		bufs := make([]bytes.Buffer, len(fs))
		for n := 0; n < total; {
			due := min(int(float64(rate)*time.Since(start).Seconds()), total)
			if due > n {
				for i := n; i < due; i++ {
					line(&bufs[i%len(fs)], i) // line i to file i mod files
				}
				for j := range fs {
					fs[j].Write(bufs[j].Bytes())
					bufs[j].Reset()
				}
				now := time.Now()
				for i := n + 1; i <= due; i++ {
					written[i] = now
				}
				n = due
			}
			time.Sleep(tick)
		}
	}()
	cpu0 := cpuTime(cmd.Process.Pid)
	t0 := time.Now()
	seen := 0
	var rssSum float64
	var rssN int
	for {
		now := time.Now()
		n := committed()
		for i := seen + 1; i <= n && i <= total; i++ {
			res.delays = append(res.delays, now.Sub(written[i]))
		}
		seen = max(seen, n)
		if rssN == 0 || now.Sub(t0) > time.Duration(rssN)*time.Second {
			rss, _ := memMB(cmd.Process.Pid)
			rssSum += rss
			rssN++
		}
		select {
		case <-done:
			if seen >= total || time.Since(t0) > d+5*time.Second {
				res.behind = total - seen
				wall := time.Since(t0)
				res.cpu = (cpuTime(cmd.Process.Pid) - cpu0).Seconds() / wall.Seconds()
				res.rss = rssSum / float64(rssN)
				_, res.hwm = memMB(cmd.Process.Pid)
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				slices.Sort(res.delays)
				return res, nil
			}
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cpuTime returns utime+stime of pid.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(fields[11])
	st, _ := strconv.Atoi(fields[12])
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// memMB returns VmRSS and VmHWM of pid in MB.
func memMB(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
