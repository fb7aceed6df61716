package command

import (
	"errors"
	"io/fs"
	"os"
)

// defaultInitName is the file `job init` writes when given no name.
const defaultInitName = "example.nomad.hcl"

// jobInitVerb writes an example job file.
var jobInitVerb = &verb{
	name:     "job init",
	aliases:  []string{"init"},
	synopsis: "Create an example job file",
	help: `
Usage: roam job init [options] [filename]

  Creates an example job file that can be used as a starting point to
  customize further. If no filename is given, the default of
  "example.nomad.hcl" will be used.

Init Options:

  -short
    If the short flag is set, a minimal jobspec without comments is emitted.
`,
	run: (*cli).jobInit,
}

// jobInit implements `job init`.
func (c *cli) jobInit(v *verb, args []string) int {
	flags := c.localFlagSet(v)
	short := flags.Bool("short", false, "")
	flags.Bool("connect", false, "")
	want := argCount{0, 1, "This command takes no arguments or one: <filename>"}
	if code, ok := c.parseArgs(v, flags, args, want); !ok {
		return code
	}
	name := defaultInitName
	if flags.NArg() == 1 {
		name = flags.Arg(0)
	}
	if _, err := os.Stat(name); err == nil {
		c.errorf("Job '%s' already exists", name)
		return 1
	} else if !errors.Is(err, fs.ErrNotExist) {
		c.errorf("Failed to stat '%s': %v", name, err)
		return 1
	}
	content := exampleJob
	if *short {
		content = exampleJobShort
	}
	if err := os.WriteFile(name, []byte(content), 0o660); err != nil {
		c.errorf("Failed to write '%s': %v", name, err)
		return 1
	}
	c.outf("Example job file written to %s", name)
	return 0
}

// exampleJobShort is the -short example: a Redis service, no comments.
const exampleJobShort = `job "example" {

  group "cache" {
    network {
      port "db" {
        to = 6379
      }
    }

    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
        ports = ["db"]
      }

      identity {
        env  = true
        file = true
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`

// exampleJob is the commented example job.
const exampleJob = `# This is an example job file for Roam, which reads Nomad job files.
#
# A job is the unit of work you submit: "roam job run example.nomad.hcl"
# registers it, the scheduler places its task groups on client nodes and the
# clients run their tasks. "roam job status example" shows how it is doing.
job "example" {
  # Datacenters the job may run in; "*" matches every datacenter.
  datacenters = ["*"]

  # "service" jobs run until stopped; "batch" jobs run to completion;
  # "system" jobs run on every eligible node.
  type = "service"

  # The update block sets how a new version of the job replaces the old one:
  # here one allocation at a time, each healthy for 10s before the next.
  update {
    max_parallel      = 1
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    auto_revert       = false
    canary            = 0
  }

  # A group is a set of tasks placed together on one node. "count" says how
  # many copies of the group to run.
  group "cache" {
    count = 1

    # The group network: a dynamic host port named "db", mapped to the
    # container's port 6379.
    network {
      port "db" {
        to = 6379
      }
    }

    # How a failed task is restarted on its node before the allocation is
    # considered failed.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # Scratch space shared by the group's tasks.
    ephemeral_disk {
      size = 300
    }

    # A task is one process run by a task driver.
    task "redis" {
      driver = "docker"

      config {
        image = "redis:7"
        ports = ["db"]
      }

      identity {
        env  = true
        file = true
      }

      # CPU in MHz and memory in MiB reserved for the task.
      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`
