package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lamers-dev/lamers/internal/schedule"
	"github.com/lamers-dev/lamers/notify"
	"github.com/lamers-dev/lamers/parser"
	"github.com/lamers-dev/lamers/parser/ingest"
	"github.com/lamers-dev/lamers/resolver/verify"
)

// Names of the steps of `lamers run`: in the steps table, the log and the
// metrics.
const (
	stepScan   = "scan"
	stepVerify = "verify"
	stepNotify = "notify"
	stepDigest = "digest"
	stepPrune  = "prune"
)

// pruneEvery is how often `run` drops the daily counts past retention_days.
const pruneEvery = 24 * time.Hour

// steps returns the scheduled steps of cfg, in the order they run when
// several are due: with once, first the scan of sources (due at every
// pass); then verify, notify and the digest unless their interval is 0;
// then prune.
// Each step works with the configuration it was built from: SIGHUP builds
// them again.
func (r *runner) steps(cfg Config, sources []ingest.Source, once bool) []schedule.Step {
	a := r.appWith(cfg)
	var out []schedule.Step
	if once {
		out = append(out, schedule.Step{Name: stepScan, Run: func(ctx context.Context) (schedule.Outcome, error) {
			return r.scanStep(ctx, a, sources)
		}})
	}
	if every := time.Duration(cfg.Run.VerifyEvery); every > 0 {
		out = append(out, schedule.Step{Name: stepVerify, Every: every, Run: func(ctx context.Context) (schedule.Outcome, error) {
			return r.verifyStep(ctx, a)
		}})
	}
	if every := time.Duration(cfg.Run.NotifyEvery); every > 0 {
		out = append(out, schedule.Step{Name: stepNotify, Every: every, Run: func(ctx context.Context) (schedule.Outcome, error) {
			return r.notifyStep(ctx, a)
		}})
	}
	if every := time.Duration(cfg.Digest.Interval); every > 0 {
		out = append(out, schedule.Step{Name: stepDigest, Every: every, Run: func(ctx context.Context) (schedule.Outcome, error) {
			return r.digestStep(ctx, a)
		}})
	}
	return append(out, schedule.Step{Name: stepPrune, Every: pruneEvery, Run: func(ctx context.Context) (schedule.Outcome, error) {
		n, err := prune(ctx, r.db, cfg.RetentionDays, time.Now())
		return schedule.Outcome{slog.Int64(logKeyRows, n), slog.Int(logKeyRetentionDays, cfg.RetentionDays)}, err
	}})
}

// appWith returns a copy of the app with the configuration cfg: what one
// generation of steps works with while SIGHUP may build the next.
func (r *runner) appWith(cfg Config) *app {
	a := *r.a
	a.cfg = cfg
	return &a
}

// scanStep ingests what the sources' rotated files and live files hold
// past their checkpoints (`run --once`).
func (r *runner) scanStep(ctx context.Context, a *app, sources []ingest.Source) (schedule.Outcome, error) {
	opts, err := a.cfg.ingestOptions(parser.Auto)
	if err != nil {
		return nil, err
	}
	var (
		st   ingest.Stats
		errs []error
	)
	for _, s := range sources {
		opts.Format = s.Format
		sc := ingest.NewScanner(r.db, opts)
		if err := sc.ScanSource(ctx, s.Path, &st); err != nil {
			errs = append(errs, err)
		}
	}
	out := schedule.Outcome{slog.Int(logKeyFiles, st.Files), slog.Int64(logKeyLines, st.Lines),
		slog.Int64(logKeyRecognised, st.Recognised), slog.Int64(logKeyUnrecognised, st.Unrecognised),
		slog.Int(logKeyNewFindings, st.NewFindings)}
	return out, joinStepErrors(ctx, errs)
}

// joinStepErrors joins errs; when ctx was cancelled it is ctx's error, so
// that the run counts as abandoned.
func joinStepErrors(ctx context.Context, errs []error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// verifyStep is `lamers verify` with the configuration's settings.
func (r *runner) verifyStep(ctx context.Context, a *app) (schedule.Outcome, error) {
	res, err := a.newResolver(&r.rf, false)
	if err != nil {
		return nil, err
	}
	defer res.Close(context.WithoutCancel(ctx))
	st, err := (&verifyCommand{}).verifier(a, res, r.db).Run(ctx, verify.Options{})
	return schedule.Outcome{slog.Int(logKeyAttributed, st.Attributed), slog.Int(logKeyProbed, st.Probed),
		slog.Int(logKeyStale, st.Stale), slog.Int(logKeySkipped, st.Skipped)}, err
}

// notifyStep is `lamers notify`, sending when notify.send is set; each
// message is logged, as one that would be sent in a dry run.
func (r *runner) notifyStep(ctx context.Context, a *app) (schedule.Outcome, error) {
	send := a.cfg.Notify.Send
	n, closeAll, err := (&notifyCommand{rf: r.rf}).notifier(a, r.db, send)
	if err != nil {
		return nil, err
	}
	defer closeAll(context.WithoutCancel(ctx))
	rep, err := n.Run(ctx, notify.Options{Send: send})
	results := map[string]int{}
	for i := range rep.Messages {
		m := &rep.Messages[i]
		res := resultOf(m)
		results[res]++
		msg := "run: notify: message"
		if !send {
			msg = "run: notify: would send (dry run: notify.send is false)"
		}
		a.log.Info(msg, logKeyResult, res, logKeyTo, m.To, logKeyContactSource, m.Source.String(),
			logKeySubject, m.Subject, logKeyFindings, len(m.Findings))
	}
	out := schedule.Outcome{slog.Bool(logKeySend, send), slog.Int(logKeyMessages, len(rep.Messages))}
	for _, r := range []struct{ result, key string }{{"dry-run", logKeyDryRun}, {"sent", logKeySent},
		{"deferred", logKeyDeferred}, {"rejected", logKeyRejected}, {"unknown", logKeyUnknown}} {
		if results[r.result] > 0 {
			out = append(out, slog.Int(r.key, results[r.result]))
		}
	}
	out = append(out, slog.Int(logKeyLater, rep.Later), slog.Int(logKeyResting, rep.Resting),
		slog.Int(logKeyNeedsHuman, len(rep.NeedsHuman)), slog.Int(logKeyReprobed, rep.Reprobed))
	return out, err
}

// digestStep is `lamers digest` of the period since the last digest sent
// (digest.interval back when none was): mailed to digest.to when notify.send
// is set and digest.to is not empty, else a dry run that logs what it would
// send.
func (r *runner) digestStep(ctx context.Context, a *app) (schedule.Outcome, error) {
	send, why := a.cfg.Notify.Send, "notify.send is false"
	if a.cfg.Digest.To == "" {
		send, why = false, "digest.to is empty"
	}
	m, err := a.mailer(a.cfg.Notify, send)
	if err != nil {
		return nil, err
	}
	rep, err := buildDigest(ctx, r.db, "", a.cfg.Digest, a.now())
	if err != nil {
		return nil, err
	}
	out := schedule.Outcome{slog.Bool(logKeySend, send), slog.Time(logKeySince, rep.Since), slog.Int64(logKeyFindings, rep.Totals.Findings),
		slog.Int64(logKeyLame, rep.Totals.Lame), slog.Int64(logKeyUnresponsive, rep.Totals.Unresponsive),
		slog.Int64(logKeyConfirmed, rep.Totals.Confirmed), slog.Int64(logKeyFixed, rep.Totals.Fixed),
		slog.Int64(logKeyNeedsHuman, rep.Totals.NeedsHuman)}
	if len(rep.Worst.Servers) > 0 {
		w := rep.Worst.Servers[0]
		out = append(out, slog.String(logKeyWorstServer, w.Server), slog.Int64(logKeyWorstZones, w.Zones))
	}
	if !send {
		subject, err := rep.Subject(m.templates)
		a.log.Info("run: digest: would send (dry run: "+why+")", logKeyTo, a.cfg.Digest.To, logKeySubject, subject)
		return append(out, slog.String(logKeyResult, "dry-run")), err
	}
	s, err := mailDigest(ctx, a, r.db, m, rep)
	if s.State != 0 {
		out = append(out, slog.String(logKeyResult, s.State.String()), slog.String(logKeyTo, s.To),
			slog.String(logKeyRelay, s.Delivery.Answer()))
	}
	return out, err
}
