package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The events a client reports for each of an allocation's tasks (three
// at least once a task runs: received, set up, started) are, as decoded,
// most of a running allocation's size: some 350 bytes each and a map of
// details. They are read only where an allocation is shown (an API
// answer, a client's copy, an event), so the store keeps an allocation's
// task states without their events and the events encoded, in the
// compact binary form below, decoding them for those reads. The
// encoding lives in memory only: snapshots carry the events decoded.
//
// An allocation's events encode as the number of tasks whose Events is
// not nil, then for each (by name) the name, the number of events and
// the events. An event is 0 for nil, or the bit set of its non-zero
// fields (taskEventFields, plus one) followed by those fields' values:
// a string as its index in taskEventStrings or inline, an integer as a
// varint (Time as the difference from the task's previous event's), a
// bool by its bit alone, Details as its entries (by key).

// taskEventStrings are the strings task events commonly hold (event
// types, the client's messages, detail keys and values), encoded as
// their index. The list is read only by the process that encoded (the
// encoding is not persisted), so it may change freely.
var taskEventStrings = []string{
	api.TaskSetup, api.TaskSetupFailure, api.TaskDriverFailure, api.TaskDriverMessage, api.TaskReceived,
	api.TaskFailedValidation, api.TaskStarted, api.TaskTerminated, api.TaskKilling, api.TaskKilled,
	api.TaskRestarting, api.TaskNotRestarting, api.TaskDownloadingArtifacts, api.TaskArtifactDownloadFailed,
	api.TaskSiblingFailed, api.TaskSignaling, api.TaskRestartSignal, api.TaskLeaderDead,
	api.TaskBuildingTaskDir, api.TaskClientReconnected, "Template", "Device Unhealthy",
	"Task received by client", "Task started by client", "Task successfully killed",
	"Leader Task in Group dead", "Client is downloading artifacts", "Exit Code: 0",
	"Restart within policy", "Policy allows no restarts", "Exceeded allowed attempts, applying a delay",
	"User requested restart", "OOM Killed",
	"setup_error", "driver_error", "exit_code", "signal", "exit_message", "oom_killed", "start_delay",
	"restart_reason", "kill_timeout", "kill_reason", "kill_error", "failed_sibling", "reason",
	"fails_task", "download_error", "device_id", "pid", "0", "true",
}

// taskEventStringIndex is taskEventStrings by string.
var taskEventStringIndex = func() map[string]uint64 {
	m := make(map[string]uint64, len(taskEventStrings))
	for i, s := range taskEventStrings {
		m[s] = uint64(i)
	}
	return m
}()

// taskEventField is one field of api.TaskEvent: a string, an integer or
// a bool (Time and Details are handled apart, at their fixed places).
type taskEventField struct {
	str    func(e *api.TaskEvent) *string
	getInt func(e *api.TaskEvent) int64
	setInt func(e *api.TaskEvent, v int64)
	flag   func(e *api.TaskEvent) *bool
}

// Bits of the fields encoded apart; the others follow in
// taskEventFields' order, from bit taskEventFirstField. The commonest
// fields come first, so that most events' bit set is one byte.
const (
	taskEventBitTime = iota
	taskEventBitDetails
	taskEventFirstField
)

func strField(f func(e *api.TaskEvent) *string) taskEventField { return taskEventField{str: f} }

func intField(get func(e *api.TaskEvent) int64, set func(e *api.TaskEvent, v int64)) taskEventField {
	return taskEventField{getInt: get, setInt: set}
}

// taskEventFields are api.TaskEvent's fields but Time and Details.
var taskEventFields = []taskEventField{
	strField(func(e *api.TaskEvent) *string { return &e.Type }),
	strField(func(e *api.TaskEvent) *string { return &e.DisplayMessage }),
	strField(func(e *api.TaskEvent) *string { return &e.Message }),
	{flag: func(e *api.TaskEvent) *bool { return &e.FailsTask }},
	intField(func(e *api.TaskEvent) int64 { return int64(e.ExitCode) }, func(e *api.TaskEvent, v int64) { e.ExitCode = int(v) }),
	intField(func(e *api.TaskEvent) int64 { return int64(e.Signal) }, func(e *api.TaskEvent, v int64) { e.Signal = int(v) }),
	strField(func(e *api.TaskEvent) *string { return &e.RestartReason }),
	strField(func(e *api.TaskEvent) *string { return &e.SetupError }),
	strField(func(e *api.TaskEvent) *string { return &e.DriverError }),
	strField(func(e *api.TaskEvent) *string { return &e.DriverMessage }),
	strField(func(e *api.TaskEvent) *string { return &e.KillReason }),
	intField(func(e *api.TaskEvent) int64 { return int64(e.KillTimeout) }, func(e *api.TaskEvent, v int64) { e.KillTimeout = time.Duration(v) }),
	strField(func(e *api.TaskEvent) *string { return &e.KillError }),
	intField(func(e *api.TaskEvent) int64 { return e.StartDelay }, func(e *api.TaskEvent, v int64) { e.StartDelay = v }),
	strField(func(e *api.TaskEvent) *string { return &e.DownloadError }),
	strField(func(e *api.TaskEvent) *string { return &e.ValidationError }),
	intField(func(e *api.TaskEvent) int64 { return e.DiskLimit }, func(e *api.TaskEvent, v int64) { e.DiskLimit = v }),
	intField(func(e *api.TaskEvent) int64 { return e.DiskSize }, func(e *api.TaskEvent, v int64) { e.DiskSize = v }),
	strField(func(e *api.TaskEvent) *string { return &e.FailedSibling }),
	strField(func(e *api.TaskEvent) *string { return &e.VaultError }),
	strField(func(e *api.TaskEvent) *string { return &e.TaskSignalReason }),
	strField(func(e *api.TaskEvent) *string { return &e.TaskSignal }),
	strField(func(e *api.TaskEvent) *string { return &e.GenericSource }),
}

// splitTaskEvents returns states without their tasks' events (new
// TaskStates, states itself left as it is) and the events encoded, or
// states and nil when no task has events.
func splitTaskEvents(states map[string]*api.TaskState) (map[string]*api.TaskState, []byte, error) {
	var names []string
	for name, ts := range states {
		if ts != nil && ts.Events != nil {
			names = append(names, name)
		}
	}
	if names == nil {
		return states, nil, nil
	}
	slices.Sort(names)
	scratch := taskEventScratch.Get().(*[]byte)
	defer taskEventScratch.Put(scratch)
	e := metricEncoder{buf: (*scratch)[:0]}
	defer func() { *scratch = e.buf }()
	e.buf = binary.AppendUvarint(e.buf, uint64(len(names)))
	out := make(map[string]*api.TaskState, len(states))
	maps.Copy(out, states)
	for _, name := range names {
		ts := states[name]
		taskEventString(&e, name)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(ts.Events)))
		var prev int64
		for _, ev := range ts.Events {
			if ev == nil {
				e.buf = append(e.buf, 0)
				continue
			}
			encodeTaskEvent(&e, ev, prev)
			if ev.Time != 0 {
				prev = ev.Time
			}
		}
		c := *ts
		c.Events = nil
		out[name] = &c
	}
	if len(e.buf) > maxTaskEventsLen {
		return nil, nil, fmt.Errorf("encode task events: %d bytes, more than the %d a store keeps", len(e.buf), maxTaskEventsLen)
	}
	// Stored for the allocation's lifetime: exactly its size.
	return out, append(make([]byte, 0, len(e.buf)), e.buf...), nil
}

// maxTaskEventsLen bounds an allocation's encoded events, far above what
// a client sends (Nomad's clients keep ten events a task).
const maxTaskEventsLen = 64 << 20

// taskEventScratch holds the buffers task events are encoded in.
var taskEventScratch = sync.Pool{New: func() any { return new([]byte) }}

// encodeTaskEvent appends ev, whose task's previous event has time prev.
func encodeTaskEvent(e *metricEncoder, ev *api.TaskEvent, prev int64) {
	var bits uint64
	if ev.Time != 0 {
		bits |= 1 << taskEventBitTime
	}
	if ev.Details != nil {
		bits |= 1 << taskEventBitDetails
	}
	for i, f := range taskEventFields {
		if (f.str != nil && *f.str(ev) != "") || (f.getInt != nil && f.getInt(ev) != 0) || (f.flag != nil && *f.flag(ev)) {
			bits |= 1 << (taskEventFirstField + i)
		}
	}
	// Plus one: 0 is a nil event.
	e.buf = binary.AppendUvarint(e.buf, bits+1)
	if ev.Time != 0 {
		e.int(ev.Time - prev)
	}
	if ev.Details != nil {
		e.buf = binary.AppendUvarint(e.buf, uint64(len(ev.Details)))
		if len(ev.Details) == 1 {
			for k, v := range ev.Details {
				taskEventString(e, k)
				taskEventString(e, v)
			}
		} else if len(ev.Details) > 1 {
			for _, k := range slices.Sorted(maps.Keys(ev.Details)) {
				taskEventString(e, k)
				taskEventString(e, ev.Details[k])
			}
		}
	}
	for i, f := range taskEventFields {
		if bits&(1<<(taskEventFirstField+i)) == 0 {
			continue
		}
		switch {
		case f.str != nil:
			taskEventString(e, *f.str(ev))
		case f.getInt != nil:
			e.int(f.getInt(ev))
		}
	}
}

// taskEventString appends s: its index in taskEventStrings, times two
// plus one, or its length times two and its bytes.
func taskEventString(e *metricEncoder, s string) {
	if i, ok := taskEventStringIndex[s]; ok {
		e.buf = binary.AppendUvarint(e.buf, i<<1|1)
		return
	}
	e.buf = append(binary.AppendUvarint(e.buf, uint64(len(s))<<1), s...)
}

// errBadTaskEvents is stored task events that do not decode, or do not
// match the task states stored with them: a programming error, since the
// store wrote them.
var errBadTaskEvents = errors.New("decode task events: truncated or damaged")

// joinTaskEvents returns states (as splitTaskEvents returned them) with
// the events buf encodes: a new map, whose tasks with events are new
// TaskStates.
func joinTaskEvents(states map[string]*api.TaskState, buf []byte) (map[string]*api.TaskState, error) {
	if buf == nil {
		return states, nil
	}
	d := metricDecoder{buf: buf}
	tasks := d.uint()
	if tasks > uint64(len(states)) {
		return nil, errBadTaskEvents
	}
	out := make(map[string]*api.TaskState, len(states))
	maps.Copy(out, states)
	for range tasks {
		name := decodeTaskEventString(&d)
		ts := states[name]
		n := d.uint()
		// Each event is a byte at least.
		if d.err != nil || ts == nil || n > uint64(len(d.buf)) {
			return nil, errBadTaskEvents
		}
		c := *ts
		c.Events = make([]*api.TaskEvent, n)
		var prev int64
		for i := range c.Events {
			c.Events[i] = decodeTaskEvent(&d, &prev)
		}
		out[name] = &c
	}
	if d.err != nil || len(d.buf) != 0 {
		return nil, errBadTaskEvents
	}
	return out, nil
}

// decodeTaskEvent reads what encodeTaskEvent wrote, prev being the time
// of the task's previous event (which it advances); nil for a nil event
// or a damaged one (d.err says which).
func decodeTaskEvent(d *metricDecoder, prev *int64) *api.TaskEvent {
	bits := d.uint()
	if bits == 0 || d.err != nil {
		return nil
	}
	bits--
	if bits>>(taskEventFirstField+len(taskEventFields)) != 0 {
		d.fail()
		return nil
	}
	ev := &api.TaskEvent{}
	if bits&(1<<taskEventBitTime) != 0 {
		ev.Time = *prev + d.int()
		*prev = ev.Time
	}
	if bits&(1<<taskEventBitDetails) != 0 {
		n := d.uint()
		if n > uint64(len(d.buf)) {
			d.fail()
			return nil
		}
		ev.Details = make(map[string]string, n)
		for range n {
			k := decodeTaskEventString(d)
			ev.Details[k] = decodeTaskEventString(d)
		}
	}
	for i, f := range taskEventFields {
		if bits&(1<<(taskEventFirstField+i)) == 0 {
			continue
		}
		switch {
		case f.str != nil:
			*f.str(ev) = decodeTaskEventString(d)
		case f.getInt != nil:
			f.setInt(ev, d.int())
		default:
			*f.flag(ev) = true
		}
	}
	return ev
}

// decodeTaskEventString reads what taskEventString wrote.
func decodeTaskEventString(d *metricDecoder) string {
	tag := d.uint()
	if tag&1 == 1 {
		if i := tag >> 1; i < uint64(len(taskEventStrings)) {
			return taskEventStrings[i]
		}
		d.fail()
		return ""
	}
	n := tag >> 1
	if n > uint64(len(d.buf)) {
		d.fail()
		return ""
	}
	return string(d.bytes(int(n)))
}
