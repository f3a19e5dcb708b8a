// Package smtptest runs an SMTP server in the test's process, on
// 127.0.0.1, for the tests of lamers' SMTP transport: github.com/emersion/
// go-smtp with a backend that records every transaction (MAIL FROM, RCPT
// TO, the DATA) and can be told to answer 4xx or 5xx at a step, to drop
// the connection or to hang there. It offers STARTTLS, implicit TLS and
// AUTH PLAIN and LOGIN (RFC 4954) on request, with a self-signed
// certificate made at start. Nothing leaves the loopback interface.
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
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Step is a point of an SMTP transaction where the server can be told to
// misbehave.
type Step string

// The steps.
const (
	Mail    Step = "MAIL"     // the reply to MAIL FROM
	Rcpt    Step = "RCPT"     // the reply to RCPT TO
	DataEnd Step = "DATA end" // the reply after the message's end, once it was read
)

// Options say what the server offers.
type Options struct {
	// StartTLS offers STARTTLS (RFC 3207); Implicit speaks TLS from the
	// first byte (RFC 8314 §3.3). Both use the certificate of CertPool.
	StartTLS bool
	Implicit bool
	// Username and Password, when set, are the only credentials AUTH
	// accepts, and MAIL FROM needs them (530 before). AuthInClear offers
	// AUTH without TLS too; AuthMechanisms are the mechanisms offered
	// (default PLAIN and LOGIN).
	Username, Password string
	AuthInClear        bool
	AuthMechanisms     []string
	// DSN offers the DSN extension (RFC 3461), SMTPUTF8 the SMTPUTF8
	// extension (RFC 6531).
	DSN      bool
	SMTPUTF8 bool
}

// Transaction is what one client sent in one mail transaction.
type Transaction struct {
	From     string
	MailOpts smtp.MailOptions
	To       []string
	RcptOpts []smtp.RcptOptions
	// Data is the message as read (dot-unstuffed, CRLF line ends); nil when
	// the transaction ended before DATA.
	Data []byte
	// TLS says the connection was encrypted; AuthUser who authenticated.
	TLS      bool
	AuthUser string
}

// Server is a running test server.
type Server struct {
	// Host and Port are where it listens; Addr is both.
	Host string
	Port int
	Addr string
	// CertPool trusts the server's certificate (for tls.Config.RootCAs).
	CertPool *x509.CertPool

	opts   Options
	srv    *smtp.Server
	closed chan struct{}

	mu    sync.Mutex
	conns int
	txs   []*Transaction
	auths []string // the passwords tried, in order
	rules map[Step]rule
	hangs map[Step]*hang
}

// rule is how the server answers at a step.
type rule struct {
	rcpt string // "" for every recipient
	err  *smtp.SMTPError
	drop bool
}

// Start starts a server on 127.0.0.1 with a port of its own; t.Cleanup
// closes it.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, closed: make(chan struct{}), rules: map[Step]rule{}, hangs: map[Step]*hang{}}
	cert := selfSigned(t)
	s.CertPool = x509.NewCertPool()
	s.CertPool.AddCert(cert.Leaf)

	srv := smtp.NewServer(backend{s})
	srv.Domain = "mx.smtptest.example"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = opts.AuthInClear
	srv.EnableDSN = opts.DSN
	srv.EnableSMTPUTF8 = opts.SMTPUTF8
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if opts.StartTLS {
		srv.TLSConfig = tlsConfig
	}
	s.srv = srv

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port, s.Addr = addr.IP.String(), addr.Port, l.Addr().String()
	var ln net.Listener = &countingListener{Listener: l, s: s}
	if opts.Implicit {
		ln = tls.NewListener(ln, tlsConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		close(s.closed)
		srv.Close()
		<-done
	})
	return s
}

// Fail makes the server answer code, the enhanced status code and text at
// step: for every recipient when rcpt is "", otherwise for that recipient
// only (at Mail, rcpt must be ""). It replaces an earlier rule of step.
func (s *Server) Fail(step Step, rcpt string, code int, enhanced smtp.EnhancedCode, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[step] = rule{rcpt: rcpt, err: &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}}
}

// Drop makes the server close the connection at step, without a reply.
func (s *Server) Drop(step Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[step] = rule{drop: true}
}

// Clear removes the rule of step.
func (s *Server) Clear(step Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rules, step)
}

// Hang makes the server wait at step, without a reply, until release is
// called or the server closes. reached is closed when a client first
// waits there.
func (s *Server) Hang(step Step) (reached <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &hang{reached: make(chan struct{}), release: make(chan struct{})}
	s.hangs[step] = h
	var once sync.Once
	return h.reached, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.hangs, step)
			s.mu.Unlock()
			close(h.release)
		})
	}
}

// hang is a step where the server waits.
type hang struct {
	reached, release chan struct{}
	once             sync.Once
}

// Connections returns how many connections the server accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Transactions returns copies of the transactions so far, in the order
// they started.
func (s *Server) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transaction, len(s.txs))
	for i, tx := range s.txs {
		out[i] = *tx
		out[i].To = append([]string(nil), tx.To...)
		out[i].RcptOpts = append([]smtp.RcptOptions(nil), tx.RcptOpts...)
		out[i].Data = bytes.Clone(tx.Data)
	}
	return out
}

// Delivered returns the transactions that ended with a message accepted.
func (s *Server) Delivered() []Transaction {
	var out []Transaction
	for _, tx := range s.Transactions() {
		if tx.Data != nil {
			out = append(out, tx)
		}
	}
	return out
}

// Passwords returns the passwords AUTH was given, in order.
func (s *Server) Passwords() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// at applies the rules of step for rcpt to a session: it waits when the
// step hangs, and returns the error to answer, or drops the connection.
func (s *Server) at(step Step, rcpt string, c *smtp.Conn) error {
	s.mu.Lock()
	r, ok := s.rules[step]
	h := s.hangs[step]
	s.mu.Unlock()
	if h != nil {
		h.once.Do(func() { close(h.reached) })
		select {
		case <-h.release:
		case <-s.closed:
			return errors.New("server closed")
		}
	}
	if !ok || r.rcpt != "" && r.rcpt != rcpt {
		return nil
	}
	if r.drop {
		c.Close()
		return errors.New("connection dropped")
	}
	return r.err
}

// Silent listens on 127.0.0.1 and accepts connections without ever
// answering: a relay that hangs before its greeting. t.Cleanup closes it.
func Silent(t testing.TB) (addr string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// Closed returns a loopback address where nothing listens: connections to
// it are refused.
func Closed(t testing.TB) (addr string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	return addr
}

// SplitAddr returns the host and port of addr.
func SplitAddr(t testing.TB, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, p
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for an
// hour, that signs itself.
func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// backend makes a session per EHLO.
type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, c: c}, nil
}

// session records one client's transactions.
type session struct {
	s        *Server
	c        *smtp.Conn
	authUser string
	tx       *Transaction
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	if ss.s.opts.AuthMechanisms != nil {
		return ss.s.opts.AuthMechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, password)
		ss.s.mu.Unlock()
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	if ss.tx != nil {
		// As Postfix's smtpd answers a MAIL inside a transaction (RFC 5321
		// §4.1.4: a client ends a transaction with RSET first).
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}
	}
	_, isTLS := ss.c.TLSConnectionState()
	tx := &Transaction{From: from, TLS: isTLS, AuthUser: ss.authUser}
	if opts != nil {
		tx.MailOpts = *opts
	}
	ss.s.mu.Lock()
	ss.s.txs = append(ss.s.txs, tx)
	ss.s.mu.Unlock()
	if err := ss.s.at(Mail, "", ss.c); err != nil {
		return err
	}
	ss.tx = tx
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := ss.s.at(Rcpt, to, ss.c); err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.tx.To = append(ss.tx.To, to)
	if opts != nil {
		ss.tx.RcptOpts = append(ss.tx.RcptOpts, *opts)
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	rcpt := ""
	if len(ss.tx.To) > 0 {
		rcpt = ss.tx.To[0]
	}
	if err := ss.s.at(DataEnd, rcpt, ss.c); err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.tx.Data = data
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.tx = nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (the mechanism of
// draft-murchison-sasl-login): it asks for the user name, then the
// password.
type loginServer struct {
	check    func(username, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // the user name as initial response
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.username = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}
