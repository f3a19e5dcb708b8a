package templates_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/templates"
)

// The HTML part, parsed as a browser parses it (golang.org/x/net/html),
// loads nothing and runs nothing: no element that fetches or executes, no
// src, no event handler, no style sheet, links only to mailto:, one of
// them the unsubscribe address. DNS names and a display name that look
// like markup arrive as text.
func TestHTMLParsed(t *testing.T) {
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)
	// Valid names in presentation form (miekg/dns escapes neither "<", ">"
	// nor "/", "=" or "&"); each is a label of at most 63 octets.
	hostile := []string{
		`<script>alert(1)<\/script>.example.`,
		`<img\ src=x\ onerror=alert(1)>.example.`,
		`"><a\ href=javascript:x>.example.`,
		`&amp;lt;.example.`,
	}
	data := notify.MessageData{To: "hostmaster@example.com", Source: "override"}
	for i, z := range hostile {
		data.Findings = append(data.Findings, notify.FindingData{
			Zone: z, Server: "192.0.2.1", Port: uint16(53 + i), ServerNames: []string{`<b>ns</b>.example.`},
			Status: "lame", Reason: "refused", FirstSeen: day, LastSeen: day, Count: 1,
		})
	}
	w, err := notify.NewLetterWriter(set, notify.Settings{
		From:          `"<i>DNS</i> health" <dns-health@resolver.example.net>`,
		BounceAddress: "lamers-bounces@resolver.example.net",
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := w.Compose(data)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(l.HTML))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	var links []string
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
					links = append(links, a.Val)
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
	unsubscribe := "mailto:" + strings.TrimSuffix(strings.TrimPrefix(l.ListUnsubscribe, "<mailto:"), ">")
	if !slices.Contains(links, unsubscribe) {
		t.Errorf("links %q, none to %s", links, unsubscribe)
	}
	for _, z := range append(hostile, `<b>ns</b>.example.`, `<i>DNS</i> health`) {
		if !strings.Contains(text.String(), z) {
			t.Errorf("the text of the HTML part lacks %q", z)
		}
	}
}
