package main

import (
	"context"
	"reflect"
	"slices"

	"github.com/lamers-dev/lamers/parser/ingest"
)

// reload rereads the configuration on SIGHUP and applies it: the sources
// to the tailer (reopening every file) and the monitor, the intervals and
// settings to the steps. A configuration with an error is not taken: the
// old one keeps running and the log says why. The database, the log level
// and the listen address take effect at the next start; changed [tail]
// settings, time zone or ignore_servers restart the tailer, which resumes
// from its checkpoints.
func (r *runner) reload(ctx context.Context) {
	log := r.a.log
	cfg, err := loadConfig(&r.a.globals, r.a.getenv)
	if err == nil {
		err = cfg.checkSendable()
	}
	sources, serr := configSources(cfg)
	if err == nil {
		err = serr
	}
	if err != nil {
		log.Error("run: SIGHUP: the configuration has an error, keeping the one running", logKeyErr, err)
		return
	}
	old := r.cfg
	if cfg.DB != old.DB || cfg.LogLevel != old.LogLevel || cfg.Run.Listen != old.Run.Listen ||
		cfg.Run.AllowNonLoopback != old.Run.AllowNonLoopback {
		log.Warn("run: SIGHUP: db, log_level and run.listen take effect at the next start", logKeyRestart, true)
	}
	cfg.DB, cfg.LogLevel, cfg.Run.Listen, cfg.Run.AllowNonLoopback = old.DB, old.LogLevel, old.Run.Listen, old.Run.AllowNonLoopback
	if err := r.reloadTailer(ctx, old, cfg, sources); err != nil {
		log.Error("run: SIGHUP: tailer", logKeyErr, err)
	}
	if r.mon != nil {
		r.mon.SetSources(sourcePaths(sources))
	}
	if err := r.sched.SetSteps(r.steps(cfg, sources, false)); err != nil {
		log.Error("run: SIGHUP: steps", logKeyErr, err)
		return
	}
	r.cfg = cfg
	log.Info("run: SIGHUP: configuration reread", logKeySources, len(sources))
}

// reloadTailer gives the tailer the new sources, or replaces it when the
// settings it was built with changed.
func (r *runner) reloadTailer(ctx context.Context, old, cfg Config, sources []ingest.Source) error {
	if reflect.DeepEqual(old.Tail, cfg.Tail) && old.Timezone == cfg.Timezone &&
		slices.Equal(old.Scan.IgnoreServers, cfg.Scan.IgnoreServers) {
		return r.tl.Reload(ctx, sources)
	}
	if err := r.tl.Close(ctx); err != nil {
		r.a.log.Error("run: SIGHUP: final commit of the old tailer", logKeyErr, err)
	}
	tl, err := r.newTailer(ctx, r.appWith(cfg), sources)
	if err != nil {
		return err
	}
	r.tl = tl
	return nil
}
