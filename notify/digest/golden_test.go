package digest

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/lamers-dev/lamers/internal/golden"
	"github.com/lamers-dev/lamers/templates"
)

// goldenDir holds the rendered digests (go test -update rewrites them).
var goldenDir = filepath.Join("..", "..", "testdata", "golden", "digest")

// loadTemplates parses the embedded templates.
func loadTemplates(t testing.TB) *templates.Set {
	t.Helper()
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// build is the digest of the test period from s, lists of 3 and worst
// servers of 2 (so that each says how many more there are).
func build(t testing.TB, s Store) *Report {
	t.Helper()
	r, err := Build(context.Background(), s, Options{Since: testSince, Until: testUntil, ListLimit: 3, WorstLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden: the text, HTML and JSON of a full fortnight and of an empty
// database, and their Subjects.
func TestGolden(t *testing.T) {
	set := loadTemplates(t)
	var names []string
	for _, c := range []struct {
		name    string
		s       *fakeStore
		subject string
	}{
		{"full", fullStore(), "Lame delegations 2026-11-08 to 2026-11-22: 731 lame, 96 new, 23 fixed"},
		{"empty", emptyStore(), "Lame delegations 2026-11-08 to 2026-11-22: 0 lame, 0 new, 0 fixed"},
	} {
		r := build(t, c.s)
		text, err := r.Text(set)
		if err != nil {
			t.Fatal(err)
		}
		html, err := r.HTML(set)
		if err != nil {
			t.Fatal(err)
		}
		var js bytes.Buffer
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join(goldenDir, c.name+".txt"), []byte(text))
		golden.Check(t, filepath.Join(goldenDir, c.name+".html"), []byte(html))
		golden.Check(t, filepath.Join(goldenDir, c.name+".json"), js.Bytes())
		names = append(names, c.name+".txt", c.name+".html", c.name+".json")
		if s, err := r.Subject(set); s != c.subject || err != nil {
			t.Errorf("%s: subject %q, %v; want %q", c.name, s, err, c.subject)
		}
		for i, line := range strings.Split(text, "\n") {
			if len(line) > templates.Width {
				t.Errorf("%s: text line %d is %d columns: %q", c.name, i+1, len(line), line)
			}
		}
	}
	golden.Orphans(t, goldenDir, names)
}

// The JSON contract (docs/digest.md): since and until in RFC 3339 UTC,
// the totals by these names, worst_servers most zones first with server,
// zones and count; arrays are never null.
func TestJSONContract(t *testing.T) {
	for name, s := range map[string]*fakeStore{"full": fullStore(), "empty": emptyStore()} {
		var b bytes.Buffer
		if err := build(t, s).WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Since, Until string
			Totals       map[string]int64
			WorstServers []map[string]any `json:"worst_servers"`
		}
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Since != "2026-11-08T03:00:00Z" || got.Until != "2026-11-22T03:00:00Z" {
			t.Errorf("%s: since %q, until %q", name, got.Since, got.Until)
		}
		for _, k := range []string{"findings", "new", "lame", "unresponsive", "fixed", "stale", "inconclusive", "notified", "bounced", "needs_human"} {
			if _, ok := got.Totals[k]; !ok {
				t.Errorf("%s: totals lack %q", name, k)
			}
		}
		var all map[string]any
		if err := json.Unmarshal(b.Bytes(), &all); err != nil {
			t.Fatal(err)
		}
		if path := nullOutsideTimes("", all); path != "" {
			t.Errorf("%s: %s is null", name, path)
		}
		prev := float64(1 << 62)
		for _, w := range got.WorstServers {
			zones, _ := w["zones"].(float64)
			if _, ok := w["server"].(string); !ok || zones > prev || w["count"] == nil {
				t.Errorf("%s: worst server %v: no server or count, or not most zones first", name, w)
			}
			prev = zones
		}
	}
}

// nullOutsideTimes returns the path of a null in v other than a time
// ("confirmed_at", "status_at" may be null), or "".
func nullOutsideTimes(path string, v any) string {
	switch x := v.(type) {
	case nil:
		if !strings.HasSuffix(path, ".confirmed_at") && !strings.HasSuffix(path, ".status_at") {
			return path
		}
	case map[string]any:
		for k, e := range x {
			if p := nullOutsideTimes(path+"."+k, e); p != "" {
				return p
			}
		}
	case []any:
		for _, e := range x {
			if p := nullOutsideTimes(path+"[]", e); p != "" {
				return p
			}
		}
	}
	return ""
}

// The HTML part, parsed as a browser parses it, loads nothing and runs
// nothing: no element that fetches or executes, no link, no src, no
// event handler, no style sheet, no url() in a style. The zone
// we\.ird<b>.example. arrives as text, not as a <b> element.
func TestHTMLSelfContained(t *testing.T) {
	page, err := build(t, fullStore()).HTML(loadTemplates(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "img", "style", "link", "iframe", "object", "embed", "form", "input", "a", "b",
				"video", "audio", "source", "picture", "svg", "base", "frame":
				t.Errorf("element <%s> in the digest", n.Data)
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "src" || a.Key == "srcset" || a.Key == "href" || a.Key == "background" || strings.HasPrefix(a.Key, "on"):
					t.Errorf("<%s %s=%q> in the digest", n.Data, a.Key, a.Val)
				case a.Key == "style" && (strings.Contains(a.Val, "url(") || strings.Contains(a.Val, "@import")):
					t.Errorf("style %q loads something", a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if !strings.Contains(page, `we\.ird&lt;b&gt;.example.`) {
		t.Error("the zone with HTML in it is not escaped")
	}
}
