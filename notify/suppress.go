package notify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/store"
)

// ErrInvalidAddress is matched (errors.Is) by the errors of CheckAddress
// and of ParseSuppression for an address or a domain.
var ErrInvalidAddress = errors.New("notify: invalid address")

// CheckAddress checks a mail address written by a person (an override, a
// suppression): local@domain, the local part an ASCII dot-atom and the
// domain as RNAMEAddress wants it. It returns the address with its domain
// lowercased in ASCII (A-label) form.
func CheckAddress(addr string) (string, error) {
	fail := func(reason string, cause error) (string, error) {
		return "", &addressError{addr: addr, reason: reason, cause: cause}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return fail("not local@domain", nil)
	}
	if reason := checkLocal(addr[:at]); reason != "" {
		return fail(reason, nil)
	}
	domain, reason, cause := checkMailDomain(addr[at+1:])
	if reason != "" {
		return fail(reason, cause)
	}
	out := addr[:at] + "@" + domain
	if len(out) > maxAddress {
		return fail(fmt.Sprintf("address longer than %d octets", maxAddress), nil)
	}
	return out, nil
}

// checkMailDomain checks a domain written as text (no escapes, an optional
// final dot).
func checkMailDomain(d string) (domain, reason string, cause error) {
	if strings.ContainsAny(d, `\`) {
		return "", "domain has a backslash", nil
	}
	labels, reason := parseName(d)
	if reason != "" {
		return "", reason, nil
	}
	return checkDomain(labels)
}

// addressError is the error of CheckAddress and ParseSuppression.
type addressError struct {
	addr, reason string
	cause        error
}

func (e *addressError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("notify: address %s: %s: %v", quoteName(e.addr), e.reason, e.cause)
	}
	return fmt.Sprintf("notify: address %s: %s", quoteName(e.addr), e.reason)
}

func (e *addressError) Unwrap() error { return e.cause }

func (e *addressError) Is(target error) bool { return target == ErrInvalidAddress }

// ParseSuppression reads what a person gives `lamers suppress`: an address
// (j.doe@example.com), a domain (@example.com: every address at it or
// below it) or a zone (example.com or example.com.: every finding of the
// zone or below it). Addresses and domains are lowercased (a suppression
// errs on the side of silence), zones made canonical.
func ParseSuppression(s string) (value string, kind store.SuppressionKind, err error) {
	switch at := strings.LastIndexByte(s, '@'); {
	case at == 0:
		domain, reason, cause := checkMailDomain(s[1:])
		if reason != "" {
			return "", 0, &addressError{addr: s, reason: reason, cause: cause}
		}
		return "@" + domain, store.SuppressDomain, nil
	case at > 0:
		addr, err := CheckAddress(s)
		if err != nil {
			return "", 0, err
		}
		return lowerAddress(addr), store.SuppressAddress, nil
	}
	zone, err := parser.CanonicalName(s)
	if err != nil || zone == "." {
		return "", 0, fmt.Errorf("notify: suppress %s: not an address, @domain or zone", quoteName(s))
	}
	return zone, store.SuppressZone, nil
}

// suppressor matches candidates and zones against the suppressions.
type suppressor struct {
	values map[string]bool
}

func newSuppressor(ss []store.Suppression) suppressor {
	s := suppressor{values: make(map[string]bool, len(ss))}
	for _, x := range ss {
		s.values[x.Value] = true
	}
	return s
}

// address returns the suppression that covers addr: the address itself,
// its domain or a domain above it.
func (s suppressor) address(addr string) (string, bool) {
	addr = lowerAddress(addr)
	if s.values[addr] {
		return addr, true
	}
	for d := domainOf(addr); d != ""; {
		if s.values["@"+d] {
			return "@" + d, true
		}
		_, d, _ = strings.Cut(d, ".")
	}
	return "", false
}

// zone returns the suppression that covers zone: the zone itself or one
// above it.
func (s suppressor) zone(zone string) (string, bool) {
	for z := zone; z != ""; z = parentZone(z) {
		if s.values[z] {
			return z, true
		}
	}
	return "", false
}

// parentZone returns the zone above a canonical name ("" above a TLD);
// an escaped dot is not a label boundary.
func parentZone(name string) string {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			if i+1 < len(name) {
				return name[i+1:]
			}
			return ""
		}
	}
	return ""
}

// labels counts the labels of a canonical name (the root has none).
func labels(name string) int {
	n := 0
	for z := name; z != "" && z != "."; z = parentZone(z) {
		n++
	}
	return n
}

// isSubdomain reports whether child equals parent or lies below it
// (canonical names).
func isSubdomain(child, parent string) bool {
	for z := child; z != ""; z = parentZone(z) {
		if z == parent {
			return true
		}
	}
	return parent == "."
}
