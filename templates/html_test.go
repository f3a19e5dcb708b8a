package templates_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/lamers-dev/lamers/notify"
)

// The HTML part loads nothing and runs nothing: no element that fetches or
// executes, no src, no event handler, no style sheet, links only to
// mailto:. DNS names that look like markup arrive as text.
func TestHTMLSelfContained(t *testing.T) {
	set := load(t, "")
	day := time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)
	// Valid names in presentation form (miekg/dns escapes neither "<", ">"
	// nor "/", "=" or "&"); each is a label of at most 63 octets.
	hostile := []string{
		`<script>alert(1)<\/script>.example.`,
		`<img\ src=x\ onerror=alert(1)>.example.`,
		`"><a\ href=javascript:x>.example.`,
		`&amp;lt;.example.`,
	}
	data := notify.MessageData{
		To: "hostmaster@example.com", ContactSource: notify.SourceOverride, Generated: day,
	}
	for i, z := range hostile {
		data.Findings = append(data.Findings, notify.FindingData{
			Zone: z, Server: "192.0.2.1", Port: 53 + i, NSNames: []string{`<b>ns</b>.example.`},
			Status: notify.StatusLame, Reason: "refused", FirstSeen: day, LastSeen: day, Count: 1, Days: 1,
		})
	}
	l, err := notify.Compose(set, data, notify.Settings{
		From:          `"<i>DNS</i> health" <dns-health@resolver.example.net>`,
		BounceAddress: "lamers-bounces@resolver.example.net",
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(l.HTML))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	var links int
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			switch n.Data {
			case "script", "img", "style", "link", "iframe", "object", "embed", "form", "input",
				"video", "audio", "source", "picture", "svg", "base", "frame", "i", "b":
				t.Errorf("element <%s> in the HTML part", n.Data)
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "src" || a.Key == "srcset" || a.Key == "background" || strings.HasPrefix(a.Key, "on"):
					t.Errorf("<%s %s=%q> in the HTML part", n.Data, a.Key, a.Val)
				case a.Key == "href":
					links++
					if !strings.HasPrefix(a.Val, "mailto:") {
						t.Errorf("link to %q in the HTML part", a.Val)
					}
				case a.Key == "style" && (strings.Contains(a.Val, "url(") || strings.Contains(a.Val, "@import")):
					t.Errorf("style %q loads something", a.Val)
				}
			}
		case html.TextNode:
			text.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(doc)
	if links != 1 {
		t.Errorf("%d links, want 1 (the unsubscribe address; no reply_to is set)", links)
	}
	for _, z := range append(hostile, `<b>ns</b>.example.`, `<i>DNS</i> health`) {
		if !strings.Contains(text.String(), z) {
			t.Errorf("the text of the HTML part lacks %q", z)
		}
	}
}
