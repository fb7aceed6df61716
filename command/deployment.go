package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// monitorDeployment waits for deployment id to finish and prints its final
// state; it returns 1 when the deployment did not succeed.
func (m *evalMonitor) monitorDeployment(id string) int {
	m.info("Monitoring deployment %q", m.id(id))
	var index uint64
	for {
		d, lastIndex, err := m.src.deployment(id, index)
		if err != nil {
			m.c.errorf("Error fetching deployment: %s", err)
			return exitError
		}
		if d.StatusDescription == deploymentNeedsPromotion {
			// Nothing more happens until someone promotes the canaries.
			m.c.outf("  ! Deployment %q requires manual promotion: roam deployment promote %s\n", m.id(d.ID), m.id(d.ID))
			m.c.outf("%s", indent(formatTime(m.c.now())+"\n"+formatDeployment(d, m.verbose), "    "))
			return exitOK
		}
		if deploymentActive(d.Status) {
			if lastIndex == index {
				m.c.pause(time.Second)
			}
			index = lastIndex
			continue
		}
		mark := "✓"
		if d.Status != api.DeploymentStatusSuccessful {
			mark = "!"
		}
		m.c.outf("  %s Deployment %q %s\n", mark, m.id(d.ID), d.Status)
		m.c.outf("%s", indent(formatTime(m.c.now())+"\n"+formatDeployment(d, m.verbose), "    "))
		if d.Status != api.DeploymentStatusSuccessful {
			return exitError
		}
		return exitOK
	}
}

// deploymentNeedsPromotion is the description of a deployment whose healthy
// canaries wait for `deployment promote`.
const deploymentNeedsPromotion = "Deployment is running but requires manual promotion"

// deploymentActive reports whether a deployment may still make progress.
func deploymentActive(status string) bool {
	switch status {
	case api.DeploymentStatusSuccessful, api.DeploymentStatusFailed, api.DeploymentStatusCancelled:
		return false
	}
	return true
}

// formatDeployment renders a deployment's header and its "Deployed" table.
func formatDeployment(d *api.Deployment, verbose bool) string {
	header := formatKV([]string{
		"ID|" + shortID(d.ID, verbose),
		"Job ID|" + d.JobID,
		fmt.Sprintf("Job Version|%d", d.JobVersion),
		"Status|" + d.Status,
		"Description|" + d.StatusDescription,
	})
	if len(d.TaskGroups) == 0 {
		return header
	}
	return header + "\n\nDeployed\n" + formatDeploymentGroups(d)
}

// formatDeploymentGroups renders the per-group progress of a deployment,
// adding Nomad's canary and auto-revert columns when any group uses them.
func formatDeploymentGroups(d *api.Deployment) string {
	canaries, autoRevert := false, false
	for _, s := range d.TaskGroups {
		canaries = canaries || s.DesiredCanaries > 0
		autoRevert = autoRevert || s.AutoRevert
	}
	header := []string{"Task Group"}
	if autoRevert {
		header = append(header, "Auto Revert")
	}
	if canaries {
		header = append(header, "Promoted")
	}
	header = append(header, "Desired")
	if canaries {
		header = append(header, "Canaries")
	}
	header = append(header, "Placed", "Healthy", "Unhealthy", "Progress Deadline")
	rows := []string{strings.Join(header, "|")}
	for _, tg := range sortedKeys(d.TaskGroups) {
		s := d.TaskGroups[tg]
		cells := []string{tg}
		if autoRevert {
			cells = append(cells, fmt.Sprint(s.AutoRevert))
		}
		if canaries {
			cells = append(cells, fmt.Sprint(s.Promoted))
		}
		cells = append(cells, fmt.Sprint(s.DesiredTotal))
		if canaries {
			cells = append(cells, fmt.Sprint(s.DesiredCanaries))
		}
		deadline := "N/A"
		if !s.RequireProgressBy.IsZero() {
			deadline = formatTime(s.RequireProgressBy)
		}
		cells = append(cells, fmt.Sprint(s.PlacedAllocs), fmt.Sprint(s.HealthyAllocs),
			fmt.Sprint(s.UnhealthyAllocs), deadline)
		rows = append(rows, strings.Join(cells, "|"))
	}
	return formatList(rows)
}
