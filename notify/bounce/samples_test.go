package bounce

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lamers-dev/lamers/internal/golden"
)

// samplesDir holds real returned messages; SOURCES.md there says where each
// comes from.
const samplesDir = "../../testdata/bounces"

// sampleOptions are the Options a sample is parsed with: the bounce address
// local part its token addresses use, and for exim-user-unknown.eml the
// envelope recipient Postfix's pipe(8) would pass.
func sampleOptions(name string) Options {
	switch name {
	case "postfix37-classic.eml", "postfix37-smtputf8.eml":
		return Options{Local: "bounces"}
	case "exim-user-unknown.eml":
		return Options{
			Local:             "lamers-bounces",
			OriginalRecipient: "lamers-bounces+mztwq2lknnwg23tpobyx@example.net",
			Recipient:         "lamers-bounces+mztwq2lknnwg23tpobyx@example.net",
		}
	}
	return Options{Local: "lamers-bounces"}
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseSample(t testing.TB, name string) *Message {
	t.Helper()
	return mustParse(t, string(readSample(t, name)), sampleOptions(name))
}

// rcpt is the expected address, status and class of one recipient.
type rcpt struct {
	addr, status string
	class        Class
}

// TestSamples checks what matters of every sample: the token and where it
// was found, the format, the class, and each recipient.
func TestSamples(t *testing.T) {
	tests := []struct {
		file   string
		token  string
		source Source
		format Format
		class  Class
		rcpts  []rcpt
	}{
		// Postfix 3.7.11 lab DSN: token in Delivered-To, x-unix diagnostic.
		{"postfix37-classic.eml", "cejbgfavcylrqgi2dmob", SourceDeliveredTo, FormatDSN, Hard,
			[]rcpt{{"gone@lamers.test", "5.1.1", Hard}}},
		// The same for SMTPUTF8 mail: global-delivery-status, token only in
		// the returned message/global-headers.
		{"postfix37-smtputf8.eml", "eirsijjge4ucskrlfqws", SourceReturnedMessageID, FormatGlobalDSN, Hard,
			[]rcpt{{"gone@lamers.test", "5.1.1", Hard}}},
		// The e2e suite's Postfix 3.7.11: the error transport's DSN, as the
		// alias pipe gets it (token in Delivered-To, X-Postfix diagnostic).
		{"postfix-lab-bounce.eml", "abcdefghijklmnopqrst", SourceDeliveredTo, FormatDSN, Hard,
			[]rcpt{{"gone@nic.lab", "5.1.1", Hard}}},
		// The same for SMTPUTF8 mail: message/global-delivery-status and the
		// returned message as message/global.
		{"postfix-lab-bounce-smtputf8.eml", "smtputfbounceabcdefg", SourceDeliveredTo, FormatGlobalDSN, Hard,
			[]rcpt{{"gone@nic.lab", "5.1.1", Hard}}},
		// The retry transport's delay notice: Action delayed, 4.2.1.
		{"postfix-lab-delay.eml", "delayabcdefghijklmno", SourceDeliveredTo, FormatDSN, Delay,
			[]rcpt{{"slow@nic.lab", "4.2.1", Delay}}},
		{"postfix-two-recipients.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"filtered@example.co.jp", "5.2.1", Hard}, {"userunknown@example.co.jp", "5.1.1", Hard}}},
		// Status 5.0.0, but the text says unknown user.
		{"postfix-5.0.0-unknown-user.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"kijitora@example.net", "5.0.0", Hard}}},
		// Failed after the queue lifetime with a 4.x.x status: soft.
		{"postfix-expired-4.4.1.eml", "", SourceNone, FormatDSN, Soft,
			[]rcpt{{"kijitora@example.com", "4.4.1", Soft}}},
		{"postfix-mailbox-full.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"kijitora@example.jp", "5.2.1", Hard}, {"noraneko@example.jp", "5.2.2", Soft}}},
		// Refused at MAIL FROM with 5.7.0: the sender's problem.
		{"exim-mail-from-rejected.eml", "", SourceNone, FormatExim, Policy,
			[]rcpt{{"kijitora@example.ed.jp", "5.7.0", Policy}}},
		{"exim-user-unknown.eml", "mztwq2lknnwg23tpobyx", SourceOriginalRecipient, FormatExim, Hard,
			[]rcpt{{"kijitora@example.jp", "5.1.1", Hard}, {"sabatora@example.jp", "5.2.1", Hard}}},
		{"exim-delay.eml", "", SourceNone, FormatExim, Delay,
			[]rcpt{{"kijitora@example.co.jp", "", Delay}}},
		// QSBMF: "(#5.5.0)" with "550 Unknown user" in the text.
		{"qmail.eml", "gm2dknrxha4tuoz4hu7d", SourceQuoted, FormatQmail, Hard,
			[]rcpt{{"kijitora@example.ne.jp", "5.5.0", Hard}}},
		{"sendmail-dsn.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"userunknown@bouncehammer.jp", "5.1.1", Hard}}},
		// Only an SMTP reply: 421 is soft.
		{"sendmail-v5-text.eml", "", SourceNone, FormatSendmail, Soft,
			[]rcpt{{"kijitora@example.com", "", Soft}}},
		{"exchange2003-text.eml", "", SourceNone, FormatExchange, Hard,
			[]rcpt{{"kijitora@example.jp", "", Hard}}},
		{"exchange2007-iso-8859-1.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"transports@agglo-saumur.fr", "5.1.1", Hard}}},
		// The collection kept only the text parts of this NDR.
		{"office365-dsn-qp-windows-1252.eml", "", SourceNone, FormatExchange, Hard,
			[]rcpt{{"kijitora@example.com", "5.1.10", Hard}}},
		{"office365-dsn-iso-2022-jp.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"kijitora-nyaan@neko.kyoto.example.jp", "5.1.10", Hard}}},
		// Office 365 refusing for SPF with a 5.1.0 status: the sender's
		// problem, not the address's.
		{"office365-dsn-spf-5.1.0.eml", "", SourceNone, FormatDSN, Policy,
			[]rcpt{{"kijitora@example.com", "5.1.0", Policy}}},
		{"office365-text.eml", "", SourceNone, FormatExchange, Hard,
			[]rcpt{{"kijitora@example.onmicrosoft.com", "5.1.1", Hard}}},
		{"gmail-text-user-unknown.eml", "", SourceNone, FormatGmail, Hard,
			[]rcpt{{"userunknown@example.jp", "5.1.1", Hard}}},
		// "failed permanently" without a code: the server was not reached.
		{"gmail-text-connect-failed.eml", "", SourceNone, FormatGmail, Soft,
			[]rcpt{{"kijitora@6jo.example.co.jp", "", Soft}}},
		{"gmail-dsn-delay.eml", "ircumr2ijffewtcnjzhv", SourceInReplyTo, FormatDSN, Delay,
			[]rcpt{{"sotoneko@nora.nyaan.jp", "4.4.1", Delay}}},
		{"gmail-dsn-spf-5.7.26.eml", "", SourceNone, FormatDSN, Policy,
			[]rcpt{{"kijitora@google.example.com", "5.7.26", Policy}}},
		{"yahoo-text.eml", "", SourceNone, FormatYahoo, Hard,
			[]rcpt{{"kijitora@example.org", "5.1.1", Hard}}},
		{"yahoo-dsn-policy.eml", "", SourceNone, FormatDSN, Policy,
			[]rcpt{{"kijitora@aol.example.jp", "5.7.9", Policy}}},
		// Status 5.0.0, "This user doesn't have a yahoo.com account".
		{"yahoo-dsn-windows-1251.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"this-local-part-does-not-exist@yahoo.com", "5.0.0", Hard}}},
		{"hotmail-delay-4.4.7.eml", "", SourceNone, FormatDSN, Delay,
			[]rcpt{{"kijitora@example.com", "4.4.7", Delay}}},
		{"arf-abuse.eml", "", SourceNone, FormatARF, Complaint,
			[]rcpt{{"redacted@example.net", "", Complaint}}},
		{"arf-abuse-yahoo.eml", "", SourceNone, FormatARF, Complaint,
			[]rcpt{{"this-local-part-does-not-exist-on-yahoo@yahoo.com", "", Complaint}}},
		{"arf-opt-out.eml", "", SourceNone, FormatARF, Unsubscribe,
			[]rcpt{{"user@example.com", "", Unsubscribe}}},
		{"autoreply-auto-submitted.eml", "kvlfowczljnvyxk6l5qg", SourceEnvelopeTo, FormatAutoReply, AutoReply, nil},
		{"autoreply-windows-1252-qp.eml", "", SourceNone, FormatAutoReply, AutoReply, nil},
		{"barracuda-base64-policy.eml", "", SourceNone, FormatDSN, Policy,
			[]rcpt{{"kijitora@example.org", "5.7.1", Policy}}},
		// Diagnostic-Code without a type: "The email account … does not exist".
		{"domino-base64-iso-8859-1.eml", "", SourceNone, FormatDSN, Hard,
			[]rcpt{{"jane.doe@some-domain.net", "5.0.0", Hard}}},
		{"not-a-bounce.eml", "", SourceNone, FormatUnknown, Unknown, nil},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			m := parseSample(t, tt.file)
			if m.Token != tt.token || m.TokenSource != tt.source {
				t.Errorf("token %q from %s, want %q from %s", m.Token, m.TokenSource, tt.token, tt.source)
			}
			if m.Format != tt.format || m.Class != tt.class {
				t.Errorf("format %s class %s, want %s %s", m.Format, m.Class, tt.format, tt.class)
			}
			var got []rcpt
			for _, r := range m.Recipients {
				got = append(got, rcpt{r.Address, r.Status, r.Class})
			}
			if len(got) != len(tt.rcpts) {
				t.Fatalf("recipients %v, want %v", got, tt.rcpts)
			}
			for i := range got {
				if got[i] != tt.rcpts[i] {
					t.Errorf("recipient %d = %v, want %v", i, got[i], tt.rcpts[i])
				}
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("sample %s has no row in the table", filepath.Base(f))
		}
	}
}

// TestGolden compares the whole Message of every sample (but Raw) with
// testdata/golden/bounce/<sample>.json. Run `go test ./notify/bounce
// -update` to rewrite them, and read the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", samplesDir, err)
	}
	sort.Strings(files)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			m := parseSample(t, name)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("..", "..", "testdata", "golden", "bounce", strings.TrimSuffix(name, ".eml")+".json"), buf.Bytes())
		})
	}
}
