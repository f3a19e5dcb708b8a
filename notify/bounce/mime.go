package bounce

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"
)

// MaxRaw is the most of a message that Message.Raw keeps.
const MaxRaw = 256 << 10

// Bounds on what the walker keeps, whatever the input. Lines longer than
// bufSize are read in fragments; nothing is ever held whole.
const (
	bufSize     = 16 << 10  // bufio buffer: the longest line fragment
	headerLimit = 128 << 10 // header bytes kept per entity
	fieldLimit  = 16 << 10  // bytes kept of one unfolded header field
	partLimit   = 64 << 10  // body bytes kept of one part
	keptLimit   = 512 << 10 // body bytes kept of all parts together
	maxParts    = 128       // MIME entities looked at
	maxDepth    = 8         // multipart nesting looked into
)

// input counts what is read, keeps its first MaxRaw bytes and remembers the
// first error that is not io.EOF.
type input struct {
	r    io.Reader
	raw  []byte
	size int64
	err  error
}

func (in *input) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if n > 0 {
		if room := MaxRaw - len(in.raw); room > 0 {
			in.raw = append(in.raw, p[:min(n, room)]...)
		}
		in.size += int64(n)
	}
	if err != nil && err != io.EOF && in.err == nil {
		in.err = err
	}
	return n, err
}

// stop records the boundary line that ended the last read: the index of its
// multipart in walker.bounds, and whether it was the closing delimiter.
type stop struct {
	set     bool
	level   int
	closing bool
}

// walker reads a message as a stream of line fragments and walks its MIME
// tree (RFC 2045, RFC 2046), keeping only the parts a bounce is read from.
type walker struct {
	br      *bufio.Reader
	mid     bool   // the last fragment did not end its line
	eof     bool   // the reader is done
	pending []byte // a line handed back by readHeader
	bounds  [][]byte
	stop    stop
	parts   int
	kept    int
	defect  string // the first defect seen
	nul     bool   // a NUL byte was seen

	match  matcher
	quoted string // a token found in text that was read but not kept

	top       header   // the message header
	returned  header   // the header of the returned message, if any
	plain     []string // text/plain parts, decoded
	html      []string // text/html parts, as text
	dsn       []byte   // the first (global-)delivery-status part
	dsnGlobal bool
	feedback  []byte // the first feedback-report part
}

func (w *walker) fault(s string) {
	if w.defect == "" {
		w.defect = s
	}
}

// line returns the next line fragment, whether it starts a line, and false
// at the end of the input.
func (w *walker) line() (frag []byte, start, ok bool) {
	if w.pending != nil {
		frag, w.pending = w.pending, nil
		return frag, true, true
	}
	if w.eof {
		return nil, false, false
	}
	frag, err := w.br.ReadSlice('\n')
	start = !w.mid
	w.mid = err == bufio.ErrBufferFull
	if err != nil && err != bufio.ErrBufferFull {
		w.eof = true
		if len(frag) == 0 {
			return nil, false, false
		}
	}
	if !w.nul && bytes.IndexByte(frag, 0) >= 0 {
		w.nul = true
	}
	return frag, start, true
}

// boundary reports whether a fragment that starts a line is a delimiter line
// of an open multipart (RFC 2046 §5.1.1, transport padding allowed), and
// records it in w.stop.
func (w *walker) boundary(frag []byte) bool {
	if len(w.bounds) == 0 || len(frag) < 3 || frag[0] != '-' || frag[1] != '-' {
		return false
	}
	line := bytes.TrimRight(frag, " \t\r\n")
	for i := len(w.bounds) - 1; i >= 0; i-- {
		b := w.bounds[i]
		if !bytes.HasPrefix(line, b) {
			continue
		}
		switch rest := line[len(b):]; {
		case len(rest) == 0:
			w.stop = stop{set: true, level: i}
			return true
		case len(rest) == 2 && rest[0] == '-' && rest[1] == '-':
			w.stop = stop{set: true, level: i, closing: true}
			return true
		}
	}
	return false
}

// readHeader reads a header up to its empty line (consumed), a delimiter
// line or the end. top skips an mbox "From " line before the first field. A
// line that is neither a field nor a continuation ends the header and is
// handed back as the first body line.
func (w *walker) readHeader(top bool) header {
	var raw []byte
	fields, skipping := 0, false
	for {
		frag, start, ok := w.line()
		if !ok {
			break
		}
		if start {
			skipping = false
			if w.boundary(frag) || isBlank(frag) {
				break
			}
			switch {
			case top && fields == 0 && bytes.HasPrefix(frag, []byte("From ")):
				skipping = true
				continue
			case frag[0] == ' ' || frag[0] == '\t':
				if fields == 0 {
					skipping = true
					continue
				}
			case isFieldLine(frag):
				fields++
			default:
				if top && fields == 0 {
					w.fault("no header")
				} else {
					w.fault("header line without a colon")
				}
				w.pending = append([]byte(nil), frag...)
				return parseFields(raw)
			}
		} else if skipping {
			continue
		}
		if len(raw)+len(frag) > headerLimit {
			w.fault("header longer than 128 KiB, cut")
			continue
		}
		raw = append(raw, frag...)
	}
	return parseFields(raw)
}

// collect reads a body up to the next delimiter line or the end. With keep
// it returns the first bytes of it, at most partLimit and what is left of
// keptLimit; with scan, text that is not kept is searched for a quoted
// Message-ID token.
func (w *walker) collect(keep, scan bool) []byte {
	var data []byte
	limit := 0
	if keep {
		limit = min(partLimit, keptLimit-w.kept)
	}
	for {
		frag, start, ok := w.line()
		if !ok {
			break
		}
		if start && w.boundary(frag) {
			break
		}
		if room := limit - len(data); room > 0 {
			take := min(len(frag), room)
			data = append(data, frag[:take]...)
			frag = frag[take:]
		}
		if scan && len(frag) > 0 && w.quoted == "" {
			w.scanQuoted(frag)
		}
	}
	w.kept += len(data)
	if keep && data == nil {
		data = []byte{}
	}
	return data
}

// scanQuoted looks for a notification Message-ID in a fragment of text that
// is not kept. Only a candidate with a token-shaped run and an "@" after the
// prefix is turned into a string, so that text full of near misses costs
// no allocation.
func (w *walker) scanQuoted(frag []byte) {
	for i := 0; ; {
		j := bytes.Index(frag[i:], []byte(MessageIDPrefix))
		if j < 0 {
			return
		}
		at := i + j
		i = at + len(MessageIDPrefix)
		end := i + TokenLen
		if end >= len(frag) || frag[end] != '@' || !base32Run(frag[i:end]) {
			continue
		}
		if t, ok := w.match.quoted(string(frag[max(0, at-1):min(len(frag), at+maxIDLen)])); ok {
			w.quoted = t
			return
		}
	}
}

// base32Run reports whether b is made of base32 letters in either case.
func base32Run(b []byte) bool {
	for _, c := range b {
		c |= 0x20
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// entity reads the body of an entity whose header h has been read.
func (w *walker) entity(h header, depth int) {
	ct, params := mediaType(h.get("content-type"))
	cte := h.get("content-transfer-encoding")
	w.parts++
	if depth > maxDepth || w.parts > maxParts {
		w.fault("too many or too deeply nested MIME parts")
		w.collect(false, false)
		return
	}
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		if b := params["boundary"]; b != "" {
			w.multipart(b, depth)
			return
		}
		w.fault("multipart without a boundary")
		w.text(decodeTransfer(w.collect(true, true), cte), "text/plain", params["charset"])
	case ct == "message/rfc822" || ct == "message/global":
		w.message(cte)
	case ct == "text/rfc822-headers" || ct == "text/rfc822-header" || ct == "message/global-headers":
		data := w.collect(w.returned == nil, false)
		if w.returned == nil {
			w.returned = parseFields(headerBlock(decodeTransfer(data, cte)))
		}
	case ct == "message/delivery-status" || ct == "message/global-delivery-status":
		data := w.collect(w.dsn == nil, false)
		if w.dsn == nil {
			w.dsn = decodeTransfer(data, cte)
			w.dsnGlobal = ct == "message/global-delivery-status"
		}
	case ct == "message/feedback-report":
		data := w.collect(w.feedback == nil, false)
		if w.feedback == nil {
			w.feedback = decodeTransfer(data, cte)
		}
	case ct == "text/plain" || ct == "text/html":
		w.text(decodeTransfer(w.collect(true, true), cte), ct, params["charset"])
	default:
		w.collect(false, false)
	}
}

// text keeps a text part as UTF-8.
func (w *walker) text(data []byte, ct, charset string) {
	s := toUTF8(data, charset)
	if ct == "text/html" {
		w.html = append(w.html, htmlText(s))
		return
	}
	w.plain = append(w.plain, s)
}

// message reads an attached message (the returned one): its header is kept,
// its body only skipped.
func (w *walker) message(cte string) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64", "quoted-printable": // not allowed (RFC 2046 §5.2.1), but sent
		data := w.collect(w.returned == nil, false)
		if w.returned == nil {
			w.returned = parseFields(headerBlock(decodeTransfer(data, cte)))
		}
		return
	}
	h := w.readHeader(false)
	if w.returned == nil {
		w.returned = h
	}
	if !w.stop.set {
		w.collect(false, false)
	}
}

// multipart reads the parts of a multipart entity.
func (w *walker) multipart(boundary string, depth int) {
	level := len(w.bounds)
	w.bounds = append(w.bounds, []byte("--"+boundary))
	defer func() { w.bounds = w.bounds[:level] }()
	w.collect(false, false) // the preamble
	for {
		switch {
		case !w.stop.set:
			w.fault("multipart not closed")
			return
		case w.stop.level < level:
			w.fault("multipart cut short by an outer boundary")
			return
		case w.stop.closing:
			w.stop = stop{}
			w.bounds = w.bounds[:level]
			w.collect(false, false) // the epilogue
			return
		}
		w.stop = stop{}
		h := w.readHeader(false)
		if w.stop.set {
			continue
		}
		w.entity(h, depth+1)
	}
}

// mediaType returns the lowercased media type of a Content-Type value and
// its parameters; text/plain when there is none (RFC 2045 §5.2). A value
// mime.ParseMediaType refuses is split by hand.
func mediaType(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "text/plain", nil
	}
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return mt, params
	}
	parts := splitParams(v)
	mt := strings.ToLower(strings.TrimSpace(parts[0]))
	if !strings.Contains(mt, "/") {
		mt = "text/plain"
	}
	params := make(map[string]string)
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	return mt, params
}

// splitParams splits a header value at the semicolons outside quotes.
func splitParams(v string) []string {
	var parts []string
	quoted, from := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				parts = append(parts, v[from:i])
				from = i + 1
			}
		}
	}
	return append(parts, v[from:])
}

// headerBlock returns the header of a message held in memory: everything
// before its first empty line.
func headerBlock(data []byte) []byte {
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		if isBlank(data[i : i+j+1]) {
			return data[:i]
		}
		i += j + 1
	}
	return data
}

func isBlank(line []byte) bool {
	return len(bytes.TrimRight(line, " \t\r\n")) == 0 && len(line) > 0 && line[len(line)-1] == '\n'
}

// isFieldLine reports whether a line starts with a field name and a colon
// (RFC 5322 §2.2; white space before the colon is accepted, RFC 822).
func isFieldLine(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}
