package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Diff types the server reports in a job diff.
const (
	diffAdded   = "Added"
	diffDeleted = "Deleted"
	diffEdited  = "Edited"
)

// diffMarker returns the marker printed before an added ("+"), deleted
// ("-") or edited ("+/-") line, and its width with the following space.
func diffMarker(diffType string) (string, int) {
	switch diffType {
	case diffAdded:
		return "+ ", 2
	case diffDeleted:
		return "- ", 2
	case diffEdited:
		return "+/- ", 4
	}
	return "", 0
}

// diffWidths returns the longest field name and the widest marker among the
// fields and objects, used to align them.
func diffWidths(fields []*api.FieldDiff, objects []*api.ObjectDiff) (nameWidth, markerWidth int) {
	for _, f := range fields {
		nameWidth = max(nameWidth, len(f.Name))
		_, w := diffMarker(f.Type)
		markerWidth = max(markerWidth, w)
	}
	for _, o := range objects {
		_, w := diffMarker(o.Type)
		markerWidth = max(markerWidth, w)
	}
	return nameWidth, markerWidth
}

// spaces returns n spaces.
func spaces(n int) string { return strings.Repeat(" ", max(n, 0)) }

// formatJobDiff renders a job diff as `job plan` and `job history -p` print
// it. Fields of added or deleted jobs, groups and tasks are shown only when
// verbose.
func formatJobDiff(job *api.JobDiff, verbose bool) string {
	marker, _ := diffMarker(job.Type)
	var b strings.Builder
	fmt.Fprintf(&b, "%sJob: %q\n", marker, job.ID)
	nameWidth, markerWidth := diffWidths(job.Fields, job.Objects)
	for _, tg := range job.TaskGroups {
		_, w := diffMarker(tg.Type)
		markerWidth = max(markerWidth, w)
	}
	if job.Type == diffEdited || verbose {
		if body := formatDiffBody(job.Fields, job.Objects, 0, nameWidth, markerWidth); body != "" {
			b.WriteString(body + "\n")
		}
	}
	for _, tg := range job.TaskGroups {
		_, w := diffMarker(tg.Type)
		b.WriteString(formatGroupDiff(tg, markerWidth-w, verbose) + "\n")
	}
	return b.String()
}

// formatGroupDiff renders one task group's diff, its pending updates and its
// tasks.
func formatGroupDiff(tg *api.TaskGroupDiff, pad int, verbose bool) string {
	marker, _ := diffMarker(tg.Type)
	var b strings.Builder
	fmt.Fprintf(&b, "%s%sTask Group: %q", marker, spaces(pad), tg.Name)
	if len(tg.Updates) > 0 {
		var updates []string
		for _, kind := range sortedKeys(tg.Updates) {
			updates = append(updates, fmt.Sprintf("%d %s", tg.Updates[kind], kind))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(updates, ", "))
	}
	b.WriteString("\n")
	nameWidth, markerWidth := diffWidths(tg.Fields, tg.Objects)
	for _, t := range tg.Tasks {
		_, w := diffMarker(t.Type)
		markerWidth = max(markerWidth, w)
	}
	start := pad + 2
	if tg.Type == diffEdited || verbose {
		if body := formatDiffBody(tg.Fields, tg.Objects, start, nameWidth, markerWidth); body != "" {
			b.WriteString(body + "\n")
		}
	}
	for _, t := range tg.Tasks {
		_, w := diffMarker(t.Type)
		b.WriteString(formatTaskDiff(t, start, markerWidth-w, verbose) + "\n")
	}
	return b.String()
}

// formatTaskDiff renders one task's diff with its annotations such as
// "forces create".
func formatTaskDiff(t *api.TaskDiff, start, pad int, verbose bool) string {
	marker, _ := diffMarker(t.Type)
	out := fmt.Sprintf("%s%s%sTask: %q", spaces(start), marker, spaces(pad), t.Name)
	if len(t.Annotations) > 0 {
		out += fmt.Sprintf(" (%s)", strings.Join(t.Annotations, ", "))
	}
	if t.Type == "None" || t.Type == "" || ((t.Type == diffAdded || t.Type == diffDeleted) && !verbose) {
		return out
	}
	nameWidth, markerWidth := diffWidths(t.Fields, t.Objects)
	return out + "\n" + formatDiffBody(t.Fields, t.Objects, start+2, nameWidth, markerWidth)
}

// formatDiffBody renders fields, then objects, aligned on their markers and
// names, one per line.
func formatDiffBody(fields []*api.FieldDiff, objects []*api.ObjectDiff, start, nameWidth, markerWidth int) string {
	var lines []string
	for _, f := range fields {
		_, w := diffMarker(f.Type)
		lines = append(lines, formatFieldDiff(f, start, markerWidth-w, nameWidth-len(f.Name)))
	}
	for _, o := range objects {
		_, w := diffMarker(o.Type)
		lines = append(lines, formatObjectDiff(o, start, markerWidth-w))
	}
	return strings.Join(lines, "\n")
}

// formatFieldDiff renders `name: "old" => "new"` and its annotations.
func formatFieldDiff(f *api.FieldDiff, start, pad, valuePad int) string {
	marker, _ := diffMarker(f.Type)
	out := fmt.Sprintf("%s%s%s%s: %s", spaces(start), marker, spaces(pad), f.Name, spaces(valuePad))
	switch f.Type {
	case diffDeleted:
		out += fmt.Sprintf("%q", f.Old)
	case diffEdited:
		out += fmt.Sprintf("%q => %q", f.Old, f.New)
	default:
		out += fmt.Sprintf("%q", f.New)
	}
	if len(f.Annotations) > 0 {
		out += fmt.Sprintf(" (%s)", strings.Join(f.Annotations, ", "))
	}
	return out
}

// formatObjectDiff renders a nested block as `name {` ... `}`.
func formatObjectDiff(o *api.ObjectDiff, start, pad int) string {
	marker, width := diffMarker(o.Type)
	nameWidth, markerWidth := diffWidths(o.Fields, o.Objects)
	body := formatDiffBody(o.Fields, o.Objects, start+pad+2, nameWidth, markerWidth)
	return fmt.Sprintf("%s%s%s%s {\n%s\n%s}", spaces(start), marker, spaces(pad), o.Name, body, spaces(start+width+pad))
}
