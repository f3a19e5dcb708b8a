package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lamers-dev/lamers/store"
)

// Metric names (Prometheus naming: https://prometheus.io/docs/practices/naming/):
// the lamers_ namespace, counters end in _total, units are base units
// (seconds, bytes) named in the name.
const (
	nameLinesRead          = "lamers_tail_lines_read_total"
	nameLinesRecognised    = "lamers_tail_lines_recognised_total"
	nameLinesUnrecognised  = "lamers_tail_lines_unrecognised_total"
	nameTailLag            = "lamers_tail_lag_seconds"
	nameTailBehind         = "lamers_tail_behind_bytes"
	nameSourceUp           = "lamers_tail_source_up"
	nameFindings           = "lamers_findings"
	nameNeedsHuman         = "lamers_findings_needs_human"
	nameProbeRounds        = "lamers_verify_probe_rounds_total"
	nameMessages           = "lamers_notify_messages"
	nameBounces            = "lamers_bounces_total"
	nameStepDuration       = "lamers_step_duration_seconds"
	nameStepRuns           = "lamers_step_runs_total"
	nameStepLastSuccess    = "lamers_step_last_success_timestamp_seconds"
	nameDatabaseWritable   = "lamers_database_writable"
	nameTablesReadDuration = "lamers_tables_read_duration_seconds"
)

// Label names.
const (
	labelSource = "source" // a followed path, as configured
	labelStatus = "status"
	labelReason = "reason"
	labelResult = "result"
	labelStep   = "step"
	labelClass  = "class"
)

// metrics are the collectors of one Monitor, in a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	linesRead, linesRecognised, linesUnrecognised *prometheus.CounterVec
	tailLag, tailBehind, sourceUp                 *prometheus.GaugeVec

	findings        *prometheus.GaugeVec
	needsHuman      prometheus.Gauge
	probeRounds     *prometheus.CounterVec
	messages        *prometheus.GaugeVec
	bounces         *prometheus.CounterVec
	stepDuration    *prometheus.HistogramVec
	stepRuns        *prometheus.CounterVec
	stepLastSuccess *prometheus.GaugeVec
	dbWritable      prometheus.Gauge
	summaryDuration prometheus.Gauge
}

func newMetrics() *metrics {
	perSource := []string{labelSource}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		linesRead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameLinesRead,
			Help: "Log lines read and committed by the tailer since the process started."}, perSource),
		linesRecognised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameLinesRecognised,
			Help: "Log lines the parser recognised as lame-server evidence since the process started."}, perSource),
		linesUnrecognised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameLinesUnrecognised,
			Help: "Lame-looking log lines the parser did not understand since the process started."}, perSource),
		tailLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameTailLag,
			Help: "Seconds the source's checkpoint has not moved while complete lines wait after it (0 when caught up)."}, perSource),
		tailBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameTailBehind,
			Help: "Bytes of the source's live file after its committed checkpoint."}, perSource),
		sourceUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameSourceUp,
			Help: "1 when the source's file exists and can be read, else 0."}, perSource),
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameFindings,
			Help: "Findings in the database by status."}, []string{labelStatus}),
		needsHuman: prometheus.NewGauge(prometheus.GaugeOpts{Name: nameNeedsHuman,
			Help: "Findings whose contact chain is exhausted: they need a human."}),
		probeRounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameProbeRounds,
			Help: "Probe rounds recorded in the database since the process started, by verdict reason."}, []string{labelReason}),
		messages: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameMessages,
			Help: "Messages in the outbox by result."}, []string{labelResult}),
		bounces: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameBounces,
			Help: "Returned messages stored in the database since the process started, by class."}, []string{labelClass}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: nameStepDuration,
			Help:    "Duration of the runs of each scheduled step.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 9)}, []string{labelStep}),
		stepRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: nameStepRuns,
			Help: "Runs of each scheduled step by this process, by result (ok, failed, abandoned)."}, []string{labelStep, labelResult}),
		stepLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: nameStepLastSuccess,
			Help: "Unix time the last successful run of each step ended, by any process on the database."}, []string{labelStep}),
		dbWritable: prometheus.NewGauge(prometheus.GaugeOpts{Name: nameDatabaseWritable,
			Help: "1 when the last write probe of the database succeeded, else 0."}),
		summaryDuration: prometheus.NewGauge(prometheus.GaugeOpts{Name: nameTablesReadDuration,
			Help: "Seconds the last read of the tables' summary took (it runs after steps and about once a minute, never per scrape)."}),
	}
	m.reg.MustRegister(m.linesRead, m.linesRecognised, m.linesUnrecognised, m.tailLag, m.tailBehind, m.sourceUp,
		m.findings, m.needsHuman, m.probeRounds, m.messages, m.bounces, m.stepDuration, m.stepRuns, m.stepLastSuccess,
		m.dbWritable, m.summaryDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range store.Statuses() {
		m.findings.WithLabelValues(s.String())
	}
	for _, s := range store.OutboxStates() {
		m.messages.WithLabelValues(s.String())
	}
	for _, c := range store.BounceClasses() {
		m.bounces.WithLabelValues(c.String())
	}
	return m
}

// addSource makes the series of a source exist at 0 from the start, so
// that rates over them are defined.
func (m *metrics) addSource(path string) {
	for _, v := range m.perSource() {
		v.GetMetricWithLabelValues(path) // one label, one value: no error
	}
}

// removeSource drops the series of a source no longer followed.
func (m *metrics) removeSource(path string) {
	for _, v := range m.perSource() {
		v.DeleteLabelValues(path)
	}
}

// perSource are the metrics with a source label.
func (m *metrics) perSource() []*prometheus.MetricVec {
	return []*prometheus.MetricVec{m.linesRead.MetricVec, m.linesRecognised.MetricVec, m.linesUnrecognised.MetricVec,
		m.tailLag.MetricVec, m.tailBehind.MetricVec, m.sourceUp.MetricVec}
}

// setSummary sets the gauges read from the tables and adds the rounds and
// bounces recorded since the last summary.
func (m *metrics) setSummary(s *store.Summary, runs []store.StepRun) {
	for st, n := range s.Findings {
		m.findings.WithLabelValues(st.String()).Set(float64(n))
	}
	m.needsHuman.Set(float64(s.NeedsHuman))
	for reason, n := range s.RoundReasons {
		m.probeRounds.WithLabelValues(reason).Add(float64(n))
	}
	for st, n := range s.Outbox {
		m.messages.WithLabelValues(st.String()).Set(float64(n))
	}
	for c, n := range s.Bounces {
		m.bounces.WithLabelValues(c.String()).Add(float64(n))
	}
	for _, r := range runs {
		if !r.LastSuccess.IsZero() {
			m.stepLastSuccess.WithLabelValues(r.Name).Set(float64(r.LastSuccess.UnixNano()) / 1e9)
		}
	}
}
