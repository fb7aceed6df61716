package command

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// operatorSchedulerGetConfigVerb shows the scheduler configuration.
var operatorSchedulerGetConfigVerb = &verb{
	name:     "operator scheduler get-config",
	synopsis: "Display the current scheduler configuration",
	help: `
Usage: roam operator scheduler get-config [options]

  Displays the current scheduler configuration.

General Options:
` + generalOptionsHelp + `

Scheduler Get Config Options:

  -json
    Output the scheduler configuration in its JSON format.
`,
	run: (*cli).operatorSchedulerGetConfig,
}

// operatorSchedulerSetConfigVerb changes the scheduler configuration.
var operatorSchedulerSetConfigVerb = &verb{
	name:     "operator scheduler set-config",
	synopsis: "Modify the current scheduler configuration",
	help: `
Usage: roam operator scheduler set-config [options]

  Modifies the current scheduler configuration. Options left out keep
  their current value.

General Options:
` + generalOptionsHelp + `

Scheduler Set Config Options:

  -check-index
    If set, the scheduler configuration is only changed if the passed
    index matches the current modify index.

  -scheduler-algorithm=["binpack"|"spread"]
    Specifies whether scheduler binpacks or spreads allocations on
    available nodes.

  -memory-oversubscription=[true|false]
  -reject-job-registration=[true|false]
  -pause-eval-broker=[true|false]
  -preempt-batch-scheduler=[true|false]
  -preempt-service-scheduler=[true|false]
  -preempt-sysbatch-scheduler=[true|false]
  -preempt-system-scheduler=[true|false]
`,
	run: (*cli).operatorSchedulerSetConfig,
}

// operatorSchedulerGetConfig implements `operator scheduler get-config`.
func (c *cli) operatorSchedulerGetConfig(v *verb, args []string) int {
	fs := c.flagSet(v)
	asJSON := fs.Bool("json", false, "")
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		c.errorf("Error querying scheduler configuration: %s", err)
		return 1
	}
	if *asJSON {
		return c.printJSON(resp.SchedulerConfig)
	}
	c.outf("%s", formatSchedulerConfig(resp.SchedulerConfig))
	return 0
}

// formatSchedulerConfig renders the configuration as Nomad's get-config:
// three blocks, aligned together.
func formatSchedulerConfig(cfg *api.SchedulerConfiguration) string {
	p := cfg.PreemptionConfig
	lines := strings.Split(formatKV([]string{
		"Scheduler Algorithm|" + string(cfg.SchedulerAlgorithm),
		"Memory Oversubscription|" + strconv.FormatBool(cfg.MemoryOversubscriptionEnabled),
		"Reject Job Registration|" + strconv.FormatBool(cfg.RejectJobRegistration),
		"Pause Eval Broker|" + strconv.FormatBool(cfg.PauseEvalBroker),
		"Preemption System Scheduler|" + strconv.FormatBool(p.SystemSchedulerEnabled),
		"Preemption Service Scheduler|" + strconv.FormatBool(p.ServiceSchedulerEnabled),
		"Preemption Batch Scheduler|" + strconv.FormatBool(p.BatchSchedulerEnabled),
		"Preemption SysBatch Scheduler|" + strconv.FormatBool(p.SysBatchSchedulerEnabled),
		"Modify Index|" + strconv.FormatUint(cfg.ModifyIndex, 10),
	}), "\n")
	return strings.Join(slices.Concat(lines[:4], []string{""}, lines[4:8], []string{""}, lines[8:]), "\n")
}

// optionalBool is a boolean flag that remembers whether it was given.
type optionalBool struct {
	value, set bool
}

// String implements flag.Value.
func (o *optionalBool) String() string { return strconv.FormatBool(o.value) }

// Set implements flag.Value.
func (o *optionalBool) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not a boolean", v)
	}
	o.value, o.set = b, true
	return nil
}

// IsBoolFlag lets the flag be given bare, meaning true.
func (o *optionalBool) IsBoolFlag() bool { return true }

// apply sets *dst when the flag was given.
func (o *optionalBool) apply(dst *bool) {
	if o.set {
		*dst = o.value
	}
}

// operatorSchedulerSetConfig implements `operator scheduler set-config`.
func (c *cli) operatorSchedulerSetConfig(v *verb, args []string) int {
	fs := c.flagSet(v)
	checkIndex := fs.String("check-index", "", "")
	var algorithm optionalString
	fs.Var(&algorithm, "scheduler-algorithm", "")
	bools := map[string]*optionalBool{}
	for _, name := range []string{"memory-oversubscription", "reject-job-registration", "pause-eval-broker",
		"preempt-batch-scheduler", "preempt-service-scheduler", "preempt-sysbatch-scheduler", "preempt-system-scheduler"} {
		bools[name] = &optionalBool{}
		fs.Var(bools[name], name, "")
	}
	client, code, ok := c.connect(v, fs, args, takesNoArgs)
	if !ok {
		return code
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		c.errorf("Error querying scheduler configuration: %s", err)
		return 1
	}
	cfg := resp.SchedulerConfig
	if algorithm.set {
		cfg.SchedulerAlgorithm = api.SchedulerAlgorithm(algorithm.value)
	}
	bools["memory-oversubscription"].apply(&cfg.MemoryOversubscriptionEnabled)
	bools["reject-job-registration"].apply(&cfg.RejectJobRegistration)
	bools["pause-eval-broker"].apply(&cfg.PauseEvalBroker)
	bools["preempt-batch-scheduler"].apply(&cfg.PreemptionConfig.BatchSchedulerEnabled)
	bools["preempt-service-scheduler"].apply(&cfg.PreemptionConfig.ServiceSchedulerEnabled)
	bools["preempt-sysbatch-scheduler"].apply(&cfg.PreemptionConfig.SysBatchSchedulerEnabled)
	bools["preempt-system-scheduler"].apply(&cfg.PreemptionConfig.SystemSchedulerEnabled)
	var updated *api.SchedulerSetConfigurationResponse
	if *checkIndex != "" {
		idx, err := strconv.ParseUint(*checkIndex, 10, 64)
		if err != nil {
			c.errorf("Unable to parse check-index value %q: %s", *checkIndex, err)
			return 1
		}
		cfg.ModifyIndex = idx
		updated, _, err = client.Operator().SchedulerCASConfiguration(cfg, nil)
		if err == nil && !updated.Updated {
			c.errorf("Scheduler configuration update failed: the modify index %d does not match the current one", idx)
			return 1
		}
	} else {
		_, _, err = client.Operator().SchedulerSetConfiguration(cfg, nil)
	}
	if err != nil {
		c.errorf("Error setting scheduler configuration: %s", err)
		return 1
	}
	c.outf("Scheduler configuration updated!")
	return 0
}

var _ flag.Value = (*optionalBool)(nil)
