package bounce

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// decodeTransfer undoes a Content-Transfer-Encoding (RFC 2045 §6) without
// failing: base64 skips characters outside its alphabet and stops at the
// padding, quoted-printable keeps a malformed "=" as it is. Other encodings
// (7bit, 8bit, binary, unknown ones) are returned unchanged.
func decodeTransfer(b []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return decodeBase64(b)
	case "quoted-printable":
		return decodeQP(b)
	}
	return b
}

func decodeBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if c == '=' {
			break
		}
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	if len(clean)%4 == 1 { // a lone trailing character carries no whole byte
		clean = clean[:len(clean)-1]
	}
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		// A soft line break: "=" and optional white space at the end of a line.
		if t := bytes.TrimLeft(rest, " \t"); len(t) == 0 || t[0] == '\n' || t[0] == '\r' && len(t) > 1 && t[1] == '\n' {
			i += len(rest) - len(t)
			switch {
			case len(t) == 0:
			case t[0] == '\n':
				i++
			default:
				i += 2
			}
			continue
		}
		if len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]) {
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// charsetEncoding returns the decoder of a MIME charset name (WHATWG names
// and aliases: iso-8859-*, windows-125*, koi8-*, iso-2022-jp, shift_jis,
// euc-*, gb*, big5, …), or nil for UTF-8, US-ASCII and unknown names.
func charsetEncoding(charset string) encoding.Encoding {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	enc, err := htmlindex.Get(cs)
	if err != nil || enc == encoding.Nop {
		return nil
	}
	return enc
}

// toUTF8 converts text in a charset to valid UTF-8: an unknown charset is
// read as UTF-8, and bytes that are not valid become U+FFFD.
func toUTF8(b []byte, charset string) string {
	if enc := charsetEncoding(charset); enc != nil {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			b = out
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// wordDecoder decodes RFC 2047 encoded words in the charsets of toUTF8.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	if enc := charsetEncoding(charset); enc != nil {
		return enc.NewDecoder().Reader(r), nil
	}
	return r, nil
}}

// decodeHeader decodes the encoded words of a header field value (RFC 2047
// §6). When mime.WordDecoder leaves a word undecoded (bad padding, a stray
// character), the words are decoded leniently, one by one.
func decodeHeader(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	if d, err := wordDecoder.DecodeHeader(v); err == nil && !strings.Contains(d, "?=") {
		return d
	}
	return decodeWords(v)
}

// decodeWords decodes "=?charset?B|Q?text?=" words as decodeTransfer
// decodes bodies; the white space between two words is dropped (RFC 2047
// §6.2), anything that is no word is kept.
func decodeWords(v string) string {
	var b strings.Builder
	afterWord := false
	for {
		start := strings.Index(v, "=?")
		if start < 0 {
			break
		}
		charset, rest, ok := strings.Cut(v[start+2:], "?")
		if !ok || len(rest) < 2 || rest[1] != '?' {
			break
		}
		text, tail, ok := strings.Cut(rest[2:], "?=")
		if !ok {
			break
		}
		if between := v[:start]; !afterWord || strings.TrimSpace(between) != "" {
			b.WriteString(between)
		}
		charset, _, _ = strings.Cut(charset, "*") // RFC 2231 §5 language
		switch rest[0] {
		case 'B', 'b':
			b.WriteString(toUTF8(decodeBase64([]byte(text)), charset))
		case 'Q', 'q':
			b.WriteString(toUTF8(decodeQP([]byte(strings.ReplaceAll(text, "_", " "))), charset))
		default:
			b.WriteString(v[start : len(v)-len(tail)])
		}
		afterWord = true
		v = tail
	}
	b.WriteString(v)
	return b.String()
}

// clean makes a one-line display string of attacker-controlled text: valid
// UTF-8, control and format characters and runs of white space turned into
// one space, trimmed, and cut to max bytes (at a rune boundary, with "…").
func clean(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s { // invalid bytes come as U+FFFD, which is kept
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+utf8.RuneLen(r) > max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// htmlText returns the text of an HTML part: tags dropped (block tags and
// <br> become line ends), script and style contents dropped, character
// references decoded.
func htmlText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:lt])
		s = s[lt:]
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break
		}
		closing := strings.HasPrefix(s[1:gt], "/")
		tag := strings.ToLower(strings.TrimLeft(s[1:gt], "/ "))
		name := tag
		if i := strings.IndexAny(tag, " \t\r\n/"); i >= 0 {
			name = tag[:i]
		}
		s = s[gt+1:]
		switch name {
		case "script", "style":
			if !closing {
				end := indexFold(s, "</"+name)
				if end < 0 {
					end = len(s) // never closed: the rest is script
				}
				s = s[end:]
			}
		case "br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "pre", "blockquote":
			b.WriteByte('\n')
		case "td", "th":
			b.WriteByte(' ')
		}
	}
	return html.UnescapeString(b.String())
}
