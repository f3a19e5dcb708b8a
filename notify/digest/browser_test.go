//go:build linux

package digest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// The digest's HTML looked at the way a person would: rendered by a real
// browser engine (headless Chromium) with no network, to a screenshot and
// to the DOM it built. The DOM's text must hold the totals and the worst
// server, and the screenshot must show them: not blank, and with the
// colours of the inline styles (the cards of the summary).

// chromium returns the path of a headless Chromium. Under CI=true a
// missing one fails the test (e2e/deps.sh installs it); elsewhere the test
// is skipped with the command that installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (e2e/deps.sh installs it: apt-get install --no-install-recommends chromium)")
	}
	t.Skip("chromium is not installed: apt-get install --no-install-recommends chromium (or run e2e/deps.sh as root)")
	return ""
}

// runChromium runs the browser headless on file with extra flags and
// returns its standard output. Nothing it loads may reach the network:
// every host name resolves to nothing and proxies are off. It runs in its
// own process group, which is killed (by its ID) if it outlives a minute.
func runChromium(t *testing.T, bin, file string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
		"--disable-background-networking", "--no-proxy-server", `--host-resolver-rules=MAP * ~NOTFOUND`,
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars", "--force-device-scale-factor=1"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+file)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	page, err := build(t, fullStore()).HTML(loadTemplates(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "digest.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}

	text := domText(t, runChromium(t, bin, file, "--dump-dom"))
	for _, want := range []string{
		"Lame now 731", "Unresponsive now 42", "Fixed in the period 23", "Need a human 31",
		"Findings on record 48,213", "Bounced (the message failed) 6",
		"Worst server: 192.0.2.1", "lame or unresponsive for 412 zones",
		"192.0.2.1 : 412 zones (415 findings), 12,345 events on the period's days", "and 55 more servers",
		`we\.ird<b>.example.`, `esc\027[31m.example.`, "New lame delegations: 96", "and 93 more",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page as the browser built it lacks %q:\n%s", want, text)
		}
	}

	shot := filepath.Join(dir, "digest.png")
	runChromium(t, bin, file, "--screenshot="+shot, "--window-size=800,1400")
	checkScreenshot(t, shot)
}

// domText is the text a reader sees in the DOM Chromium dumped: every text
// node outside <head>, white space collapsed.
func domText(t *testing.T, dom []byte) string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "head" {
			return
		}
		if n.Type == html.TextNode {
			words = append(words, strings.Fields(n.Data)...)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if len(words) == 0 {
		t.Fatalf("the browser's DOM has no text:\n%s", dom)
	}
	return strings.Join(words, " ")
}

// checkScreenshot wants the PNG at path to be a page with something on
// it: a good share of pixels that are not white, many distinct colours
// (antialiased text), and the background of the "Lame now" card
// (#fbe3e1), which only inline styles give.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < 700 || b.Dy() < 1000 {
		t.Fatalf("screenshot %v, want 800x1400", b)
	}
	inked, card, total := 0, 0, 0
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb8(img, x, y)
			total++
			colours[[3]uint32{r, g, bl}] = true
			if r < 0xf0 || g < 0xf0 || bl < 0xf0 {
				inked++
			}
			if r == 0xfb && g == 0xe3 && bl == 0xe1 {
				card++
			}
		}
	}
	t.Logf("screenshot %v: %.1f %% not white, %d colours, %d card pixels", b, 100*float64(inked)/float64(total), len(colours), card)
	switch {
	case inked*100 < total*3:
		t.Errorf("the screenshot is nearly blank: %d of %d pixels not white", inked, total)
	case len(colours) < 32:
		t.Errorf("the screenshot has %d colours: no text rendered?", len(colours))
	case card < 2000:
		t.Errorf("the screenshot shows %d pixels of the card colour #fbe3e1: inline styles not applied?", card)
	}
}

// rgb8 is the colour of img at (x, y), 8 bits a channel.
func rgb8(img image.Image, x, y int) (r, g, b uint32) {
	r, g, b, _ = img.At(x, y).RGBA()
	return r >> 8, g >> 8, b >> 8
}
