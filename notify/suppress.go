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

// CheckAddress checks a mail address written by a person (an override,
// digest.to, the configuration's own addresses, a suppression): the one
// check of an address lamers mails or writes, which the letter writer
// applies too (plainAddress). It wants local@domain, the local part an
// ASCII dot-atom of at most 64 octets and the domain as RNAMEAddress wants
// it, written as text (no escapes; a final dot and U-labels allowed), at
// most 254 octets in all. It returns the address as lamers sends it: the
// domain lowercased in ASCII (A-label) form, without a final dot.
func CheckAddress(addr string) (string, error) {
	out, reason, cause := checkAddressCause(addr)
	if reason != "" {
		return "", &addressError{addr: addr, reason: reason, cause: cause}
	}
	return out, nil
}

// checkAddress is CheckAddress with the reason, and the IDNA cause, as
// text.
func checkAddress(addr string) (string, string) {
	out, reason, cause := checkAddressCause(addr)
	if cause != nil {
		reason += ": " + cause.Error()
	}
	return out, reason
}

func checkAddressCause(addr string) (out, reason string, cause error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "not local@domain", nil
	}
	if reason := checkLocal(addr[:at]); reason != "" {
		return "", reason, nil
	}
	domain, reason, cause := checkMailDomain(addr[at+1:])
	if reason != "" {
		return "", reason, cause
	}
	out = addr[:at] + "@" + domain
	if len(out) > maxPath {
		return "", fmt.Sprintf("address too long: more than %d octets", maxPath), nil
	}
	return out, "", nil
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
		return fmt.Sprintf("notify: address %s: %s: %v", quoteText(e.addr), e.reason, e.cause)
	}
	return fmt.Sprintf("notify: address %s: %s", quoteText(e.addr), e.reason)
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
		return "", 0, fmt.Errorf("notify: suppress %s: not an address, @domain or zone", quoteText(s))
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
