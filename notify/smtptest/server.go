// Package smtptest runs an SMTP server in process, on 127.0.0.1, for the
// tests of lamers' mail transports: github.com/emersion/go-smtp with a
// backend that records every transaction (MAIL FROM with its RET
// parameter, RCPT TO with NOTIFY, the data) and can be told to refuse,
// drop the connection or stop answering at a step. It offers STARTTLS or
// implicit TLS with a self-signed certificate made at start, and can
// require AUTH (PLAIN or LOGIN, RFC 4616 and the LOGIN draft) before MAIL.
//
// go-smtp answers the DATA command itself (354, or 502 without
// recipients); the step StepData is the reply after the end of the data.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is what TLS the server offers.
type TLSMode int

// The TLS modes.
const (
	// NoTLS: clear text only, no STARTTLS.
	NoTLS TLSMode = iota
	// StartTLS: STARTTLS is offered (RFC 3207).
	StartTLS
	// Implicit: TLS from the first byte (RFC 8314, port 465 style).
	Implicit
)

// Options configure a Server.
type Options struct {
	TLS TLSMode
	// User and Password, when User is set, are the only credentials AUTH
	// accepts, and MAIL needs AUTH first.
	User, Password string
	// Mechanisms are the AUTH mechanisms offered: PLAIN and LOGIN when
	// empty.
	Mechanisms []string
	// InsecureAuth offers AUTH without TLS too.
	InsecureAuth bool
	// DSN advertises the DSN extension (RFC 3461).
	DSN bool
	// DiscardData keeps no message data (benchmarks); Transaction.Data
	// is then empty but not nil.
	DiscardData bool
}

// Step is a point of a mail transaction where a rule applies.
type Step int

// The steps.
const (
	StepMail Step = iota // MAIL FROM
	StepRcpt             // RCPT TO
	StepData             // the reply after the end of the data
)

// Transaction is one mail transaction as the server saw it.
type Transaction struct {
	// Conn numbers the TCP connection it came on, from 1.
	Conn int
	// TLS and User: whether the connection had TLS, and who had
	// authenticated ("" for nobody).
	TLS  bool
	User string
	// From is the MAIL FROM address, Ret its RET parameter.
	From string
	Ret  string
	// Rcpt are the RCPT TO addresses accepted, Notify their NOTIFY
	// parameters.
	Rcpt   []string
	Notify [][]string
	// Data is the message as received (CRLF line ends, dot-stuffing
	// removed); nil when DATA was not reached.
	Data []byte
	// Accepted is true when the server answered 250 after the data.
	Accepted bool
}

// rule is what the server does at a step for an address.
type rule struct {
	step Step
	addr string // "" for any
	err  *smtp.SMTPError
	act  action
}

type action int

const (
	actReply action = iota // answer err
	actDrop                // close the connection without a reply
	actHang                // never answer
)

// Server is a running SMTP server.
type Server struct {
	// Addr is its address, "127.0.0.1:PORT"; Host and Port its parts.
	Addr string
	Host string
	Port int

	opts  Options
	srv   *smtp.Server
	roots *x509.CertPool
	done  chan struct{}

	mu         sync.Mutex
	transcript bytes.Buffer
	conns      int
	auths      int
	mails      int
	txs        []*Transaction
	rules      []rule
	hangWG     sync.WaitGroup
}

// Start starts a server on 127.0.0.1 and stops it when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opts: o, done: make(chan struct{})}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "relay.test"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = o.InsecureAuth
	s.srv.EnableDSN = o.DSN
	if !o.DiscardData {
		s.srv.Debug = transcriptWriter{s}
	}
	if o.TLS != NoTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.roots = roots
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = &countingListener{Listener: raw, s: s}
	if o.TLS == Implicit {
		l = tls.NewListener(l, s.srv.TLSConfig)
	}
	tcp := raw.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = tcp.String(), tcp.IP.String(), tcp.Port
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.srv.Serve(l)
	}()
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
		<-served
		s.hangWG.Wait()
	})
	return s
}

// ClientTLS returns a TLS configuration that trusts the server's
// certificate (nil for NoTLS).
func (s *Server) ClientTLS() *tls.Config {
	if s.roots == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.roots, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Reply makes the server answer err at step for addr (the MAIL FROM or
// RCPT TO address; "" for any) from now on.
func (s *Server) Reply(step Step, addr string, err *smtp.SMTPError) {
	s.addRule(rule{step: step, addr: addr, err: err, act: actReply})
}

// Drop makes the server close the connection at step, without a reply.
func (s *Server) Drop(step Step, addr string) {
	s.addRule(rule{step: step, addr: addr, act: actDrop})
}

// Hang makes the server stop answering at step until the test ends.
func (s *Server) Hang(step Step, addr string) {
	s.addRule(rule{step: step, addr: addr, act: actHang})
}

// Clear removes the rules.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

func (s *Server) addRule(r rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
}

// Transactions returns copies of the transactions seen so far, in order.
func (s *Server) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transaction, len(s.txs))
	for i, tx := range s.txs {
		out[i] = *tx
		out[i].Rcpt = append([]string(nil), tx.Rcpt...)
		out[i].Notify = append([][]string(nil), tx.Notify...)
		if tx.Data != nil {
			out[i].Data = append([]byte{}, tx.Data...)
		}
	}
	return out
}

// Accepted returns the transactions answered 250 after their data.
func (s *Server) Accepted() []Transaction {
	var out []Transaction
	for _, tx := range s.Transactions() {
		if tx.Accepted {
			out = append(out, tx)
		}
	}
	return out
}

// Transcript returns what was said on every connection so far, both
// ways, after TLS (kept unless DiscardData). One connection's lines are in
// order; several connections' may interleave.
func (s *Server) Transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transcript.String()
}

// transcriptWriter appends to the transcript.
type transcriptWriter struct{ s *Server }

func (w transcriptWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.transcript.Write(p)
}

// Counts returns how many connections the server accepted, how many AUTH
// exchanges it started and how many MAIL commands it received.
func (s *Server) Counts() (conns, auths, mails int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.auths, s.mails
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	id := 0
	if ic, ok := nc.(*idConn); ok {
		id = ic.id
	}
	return &session{s: s, c: c, conn: id}, nil
}

// ruleFor returns the first rule for step and addr.
func (s *Server) ruleFor(step Step, addr string) (rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rules {
		if r.step == step && (r.addr == "" || strings.EqualFold(r.addr, addr)) {
			return r, true
		}
	}
	return rule{}, false
}

// session is one SMTP session (a connection, anew after STARTTLS).
type session struct {
	s    *Server
	c    *smtp.Conn
	conn int
	user string
	tx   *Transaction
}

// apply carries out the rule for step and addr, if any; its error is the
// reply.
func (ss *session) apply(step Step, addr string) error {
	r, ok := ss.s.ruleFor(step, addr)
	if !ok {
		return nil
	}
	switch r.act {
	case actDrop:
		ss.c.Conn().Close()
		return errors.New("dropped")
	case actHang:
		ss.s.hangWG.Add(1)
		defer ss.s.hangWG.Done()
		<-ss.s.done
		return errors.New("server stopped")
	}
	return r.err
}

func (ss *session) AuthMechanisms() []string {
	switch {
	case ss.s.opts.User == "":
		return nil
	case len(ss.s.opts.Mechanisms) > 0:
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.s.mu.Lock()
	ss.s.auths++
	ss.s.mu.Unlock()
	check := func(user, pass string) error {
		if user != ss.s.opts.User || pass != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	_, isTLS := ss.c.TLSConnectionState()
	tx := &Transaction{Conn: ss.conn, TLS: isTLS, User: ss.user, From: from}
	if opts != nil {
		tx.Ret = string(opts.Return)
	}
	ss.s.mu.Lock()
	ss.s.mails++
	ss.s.txs = append(ss.s.txs, tx)
	ss.s.mu.Unlock()
	ss.tx = tx
	if ss.s.opts.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	return ss.apply(StepMail, from)
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := ss.apply(StepRcpt, to); err != nil {
		return err
	}
	var notify []string
	if opts != nil {
		for _, n := range opts.Notify {
			notify = append(notify, string(n))
		}
	}
	ss.s.mu.Lock()
	ss.tx.Rcpt = append(ss.tx.Rcpt, to)
	ss.tx.Notify = append(ss.tx.Notify, notify)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b []byte
	var err error
	if ss.s.opts.DiscardData {
		b = []byte{}
		_, err = io.Copy(io.Discard, r)
	} else {
		b, err = io.ReadAll(r)
	}
	ss.s.mu.Lock()
	ss.tx.Data = b
	ss.s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := ss.apply(StepData, ss.tx.From); err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.tx.Accepted = true
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.tx = nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN: it asks for the user
// name (unless the client gave it with the command), then the password.
type loginServer struct {
	check func(user, pass string) error
	user  string
	state int // 0: nothing yet, 1: asked for the user name, 2: for the password
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case l.state == 0 && len(response) == 0:
		l.state = 1
		return []byte("Username:"), false, nil
	case l.state < 2:
		l.user, l.state = string(response), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(response))
}

// countingListener numbers the connections it accepts.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.conns++
	id := l.s.conns
	l.s.mu.Unlock()
	return &idConn{Conn: c, id: id}, nil
}

// idConn is an accepted connection and its number.
type idConn struct {
	net.Conn
	id int
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for
// a day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest relay"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
