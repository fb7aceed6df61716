package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// An allocation's placement metric (nodes evaluated, filtered, exhausted,
// the best nodes' scores) is most of its size in memory: a handful of
// maps, each a few hundred bytes. It is read only where one allocation is
// shown in full, so the store keeps it encoded, in the compact binary
// form below, and decodes it for those reads.

// encodeMetric encodes m; nil encodes as nil.
func encodeMetric(m *api.AllocationMetric) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	scratch := metricScratch.Get().(*[]byte)
	defer metricScratch.Put(scratch)
	e := metricEncoder{buf: (*scratch)[:0]}
	defer func() { *scratch = e.buf }()
	for _, n := range []int{m.NodesEvaluated, m.NodesFiltered, m.NodesInPool, m.NodesExhausted, m.CoalescedFailures} {
		e.int(int64(n))
	}
	e.int(int64(m.AllocationTime))
	e.string(m.NodePool)
	for _, counts := range []map[string]int{m.NodesAvailable, m.ClassFiltered, m.ConstraintFiltered, m.ClassExhausted, m.DimensionExhausted} {
		e.counts(counts)
	}
	e.length(m.QuotaExhausted == nil, len(m.QuotaExhausted))
	for _, s := range m.QuotaExhausted {
		e.string(s)
	}
	e.scores(m.Scores)
	e.length(m.ScoreMetaData == nil, len(m.ScoreMetaData))
	for _, s := range m.ScoreMetaData {
		if s == nil {
			e.buf = append(e.buf, 0)
			continue
		}
		e.buf = append(e.buf, 1)
		e.string(s.NodeID)
		e.float(s.NormScore)
		e.scores(s.Scores)
	}
	// Resources exhausted are rare and deep: they go as JSON.
	if m.ResourcesExhausted == nil {
		e.length(true, 0)
	} else {
		raw, err := json.Marshal(m.ResourcesExhausted)
		if err != nil {
			return nil, fmt.Errorf("encode placement metric: %w", err)
		}
		e.length(false, len(raw))
		e.buf = append(e.buf, raw...)
	}
	// Stored for the allocation's lifetime: exactly its size.
	return append(make([]byte, 0, len(e.buf)), e.buf...), nil
}

// metricScratch holds the buffers metrics are encoded in.
var metricScratch = sync.Pool{New: func() any { return new([]byte) }}

type metricEncoder struct{ buf []byte }

func (e *metricEncoder) int(n int64) { e.buf = binary.AppendVarint(e.buf, n) }
func (e *metricEncoder) float(f float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
}
func (e *metricEncoder) string(s string) {
	e.buf = append(binary.AppendUvarint(e.buf, uint64(len(s))), s...)
}
func (e *metricEncoder) length(isNil bool, n int) {
	// 0 is a nil map or slice, n+1 one of n entries.
	if isNil {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(n)+1)
}

func (e *metricEncoder) counts(m map[string]int) {
	e.length(m == nil, len(m))
	for k, v := range m {
		e.string(k)
		e.int(int64(v))
	}
}

func (e *metricEncoder) scores(m map[string]float64) {
	e.length(m == nil, len(m))
	for k, v := range m {
		e.string(k)
		e.float(v)
	}
}

// errBadMetric is a stored metric that does not decode: a programming
// error, since the store wrote it.
var errBadMetric = errors.New("decode placement metric: truncated or damaged")

// decodeMetric decodes what encodeMetric wrote.
func decodeMetric(buf []byte) (*api.AllocationMetric, error) {
	if buf == nil {
		return nil, nil
	}
	d := metricDecoder{buf: buf}
	m := &api.AllocationMetric{}
	for _, n := range []*int{&m.NodesEvaluated, &m.NodesFiltered, &m.NodesInPool, &m.NodesExhausted, &m.CoalescedFailures} {
		*n = int(d.int())
	}
	m.AllocationTime = time.Duration(d.int())
	m.NodePool = d.string()
	for _, counts := range []*map[string]int{&m.NodesAvailable, &m.ClassFiltered, &m.ConstraintFiltered, &m.ClassExhausted, &m.DimensionExhausted} {
		*counts = d.counts()
	}
	if n, ok := d.length(); ok {
		m.QuotaExhausted = make([]string, n)
		for i := range m.QuotaExhausted {
			m.QuotaExhausted[i] = d.string()
		}
	}
	m.Scores = d.scores()
	if n, ok := d.length(); ok {
		m.ScoreMetaData = make([]*api.NodeScoreMeta, n)
		for i := range m.ScoreMetaData {
			if d.byte() == 0 {
				continue
			}
			s := &api.NodeScoreMeta{NodeID: d.string()}
			s.NormScore = d.float()
			s.Scores = d.scores()
			m.ScoreMetaData[i] = s
		}
	}
	if n, ok := d.length(); ok {
		raw := d.bytes(n)
		if d.err == nil {
			if err := json.Unmarshal(raw, &m.ResourcesExhausted); err != nil {
				return nil, fmt.Errorf("decode placement metric: %w", err)
			}
		}
	}
	if d.err != nil || len(d.buf) != 0 {
		return nil, errBadMetric
	}
	return m, nil
}

type metricDecoder struct {
	buf []byte
	err error
}

func (d *metricDecoder) fail() { d.err, d.buf = errBadMetric, nil }

func (d *metricDecoder) int() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *metricDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *metricDecoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail()
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *metricDecoder) bytes(n int) []byte {
	if n > len(d.buf) {
		d.fail()
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *metricDecoder) float() float64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *metricDecoder) string() string {
	return intern(string(d.bytes(int(d.uint()))))
}

// length reads what metricEncoder.length wrote: the count, and false for
// nil.
func (d *metricDecoder) length() (int, bool) {
	n := d.uint()
	if n == 0 || n > uint64(len(d.buf))+1 {
		if n != 0 {
			d.fail()
		}
		return 0, false
	}
	return int(n - 1), true
}

func (d *metricDecoder) counts() map[string]int {
	n, ok := d.length()
	if !ok {
		return nil
	}
	m := make(map[string]int, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.string()
		m[k] = int(d.int())
	}
	return m
}

func (d *metricDecoder) scores() map[string]float64 {
	n, ok := d.length()
	if !ok {
		return nil
	}
	m := make(map[string]float64, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.string()
		m[k] = d.float()
	}
	return m
}

// allocRow is a stored allocation: the allocation without its placement
// metric (Metrics nil) and without its tasks' events (each TaskState's
// Events nil), the metric encoded, and the events encoded (see
// splitTaskEvents; nil when no task has events). memdb's field indexes
// reach the allocation's fields through the embedded pointer.
type allocRow struct {
	*api.Allocation
	metric []byte
	events []byte
}

// newAllocRow stores a, keeping old's metric (old may be nil) when a has
// none: a plan's updates and stops of allocations read from a list (which
// leaves metrics out) carry none. Likewise it keeps old's task events
// when a's task states are old's (as read from the store, without their
// events).
func newAllocRow(a *api.Allocation, old *allocRow) (*allocRow, error) {
	row := &allocRow{Allocation: a}
	if a.Metrics == nil {
		if old != nil {
			row.metric = old.metric
		}
	} else {
		metric, err := encodeMetric(a.Metrics)
		if err != nil {
			return nil, fmt.Errorf("allocation %s: %w", a.ID, err)
		}
		c := *a
		c.Metrics = nil
		row.Allocation, row.metric = &c, metric
	}
	if old != nil && sameMap(a.TaskStates, old.TaskStates) {
		row.events = old.events
		return row, nil
	}
	states, events, err := splitTaskEvents(a.TaskStates)
	if err != nil {
		return nil, fmt.Errorf("allocation %s: %w", a.ID, err)
	}
	if events != nil {
		if row.Allocation == a {
			c := *a
			row.Allocation = &c
		}
		row.TaskStates, row.events = states, events
	}
	return row, nil
}

// full is the allocation with its metric and its tasks' events.
func (r *allocRow) full() (*api.Allocation, error) {
	a, err := r.withTaskEvents()
	if err != nil || r.metric == nil {
		return a, err
	}
	m, err := decodeMetric(r.metric)
	if err != nil {
		return nil, fmt.Errorf("allocation %s: %w", r.ID, err)
	}
	if a == r.Allocation {
		c := *a
		a = &c
	}
	a.Metrics = m
	return a, nil
}

// withTaskEvents is the allocation with its tasks' events, without its
// metric.
func (r *allocRow) withTaskEvents() (*api.Allocation, error) {
	if r.events == nil {
		return r.Allocation, nil
	}
	states, err := joinTaskEvents(r.TaskStates, r.events)
	if err != nil {
		return nil, fmt.Errorf("allocation %s: %w", r.ID, err)
	}
	c := *r.Allocation
	c.TaskStates = states
	return &c, nil
}

// with returns a copy of r holding a instead (a has no metric of its own,
// and r's task states, without their events).
func (r *allocRow) with(a *api.Allocation) *allocRow {
	return &allocRow{Allocation: a, metric: r.metric, events: r.events}
}

// AllocEvent is an allocation as an event carries it: in full, without
// its job (which travels in the Job topic). It refers to the stored
// allocation and decodes the metric only when it is marshalled, so that
// the event buffer holds no copies.
type AllocEvent struct{ row *allocRow }

// AllocEvent returns the event form of an allocation, or nil.
func (s *Snapshot) AllocEvent(id string) (*AllocEvent, error) {
	row, err := lookupAlloc(s.txn, nil, id)
	if err != nil || row == nil {
		return nil, err
	}
	return &AllocEvent{row: row}, nil
}

// Allocation is the stored allocation, without its metric: for the
// event's keys.
func (e *AllocEvent) Allocation() *api.Allocation { return e.row.Allocation }

// MarshalJSON writes the allocation in full, less its job.
func (e *AllocEvent) MarshalJSON() ([]byte, error) {
	a, err := e.row.full()
	if err != nil {
		return nil, err
	}
	c := *a
	c.Job = nil
	return json.Marshal(&c)
}
