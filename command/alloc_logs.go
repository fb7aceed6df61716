package command

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// bytesPerLine is the line length assumed when -n asks for a number of lines
// from the end of a log, as the server only knows byte offsets.
const bytesPerLine = 120

// allocLogsVerb streams a task's stdout or stderr.
var allocLogsVerb = &verb{
	name:     "alloc logs",
	aliases:  []string{"logs"},
	synopsis: "Streams the logs of a task.",
	help: `
Usage: roam alloc logs [options] <allocation> <task>

  Streams the stdout/stderr of the given allocation and task.

General Options:
` + generalOptionsHelp + `

Logs Specific Options:

  -stdout
    Display stdout logs. This is used as the default value in all commands.

  -stderr
    Display stderr logs.

  -task <task-name>
    Sets the task to view the logs. If task name is given with both an
    argument and the '-task' option, preference is given to the '-task'
    option.

  -verbose
    Show full information.

  -f
    Causes the output to not stop when the end of the logs are reached, but
    rather to wait for additional output.

  -tail
    Show the logs contents with offsets relative to the end of the logs. If
    no offset is given, -n is defaulted to 10.

  -n
    Sets the tail location in best-efforted number of lines relative to the
    end of the logs.

  -c
    Sets the tail location in number of bytes relative to the end of the logs.
`,
	run: (*cli).allocLogs,
}

// logsOptions are the flags of `alloc logs`.
type logsOptions struct {
	stderr, follow, tail bool
	lines, bytes         int64
	task                 string
}

// allocLogs implements `alloc logs`.
func (c *cli) allocLogs(v *verb, args []string) int {
	var o logsOptions
	fs := c.flagSet(v)
	fs.BoolVar(&o.stderr, "stderr", false, "")
	fs.Bool("stdout", true, "")
	fs.Bool("verbose", false, "")
	fs.Bool("job", false, "")
	fs.BoolVar(&o.follow, "f", false, "")
	fs.BoolVar(&o.tail, "tail", false, "")
	fs.Int64Var(&o.lines, "n", -1, "")
	fs.Int64Var(&o.bytes, "c", -1, "")
	fs.StringVar(&o.task, "task", "", "")
	want := argCount{1, 2, "This command takes one of the following argument conditions:\n" +
		" * A single <allocation>\n * Two arguments: <allocation> <task>"}
	client, alloc, code, ok := c.connectAlloc(v, fs, args, want)
	if !ok {
		return code
	}
	task, err := pickTask(alloc, taskName(o.task, fs))
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	o.task = task
	if err := c.copyLogs(client, alloc, o); err != nil {
		c.errorf("Error reading %s logs: %s", logType(o), err)
		return 1
	}
	return 0
}

// taskName returns the task a command line names: the -task flag's value,
// else the second argument, as Nomad gives the flag preference.
func taskName(flagValue string, fs *flag.FlagSet) string {
	if flagValue != "" {
		return flagValue
	}
	return fs.Arg(1)
}

// pickTask returns task if the allocation runs it, or the allocation's only
// task when task is "".
func pickTask(alloc *api.Allocation, task string) (string, error) {
	tasks := allocTasks(alloc)
	if task != "" {
		for _, t := range tasks {
			if t == task {
				return task, nil
			}
		}
		return "", fmt.Errorf("Could not find task named: %s", task)
	}
	if len(tasks) == 1 {
		return tasks[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Allocation %q is running the following tasks:\n", shortID(alloc.ID, false))
	for _, t := range tasks {
		fmt.Fprintf(&b, "  * %s\n", t)
	}
	b.WriteString("\nPlease specify the task.")
	return "", errors.New(b.String())
}

// allocTasks returns the names of the allocation's tasks, sorted.
func allocTasks(alloc *api.Allocation) []string {
	if len(alloc.TaskStates) > 0 {
		return sortedKeys(alloc.TaskStates)
	}
	if alloc.Job != nil {
		for _, tg := range alloc.Job.TaskGroups {
			if deref(tg.Name) == alloc.TaskGroup {
				names := make([]string, 0, len(tg.Tasks))
				for _, t := range tg.Tasks {
					names = append(names, t.Name)
				}
				return names
			}
		}
	}
	return nil
}

// logType returns "stderr" or "stdout".
func logType(o logsOptions) string {
	if o.stderr {
		return "stderr"
	}
	return "stdout"
}

// copyLogs copies the task's log to standard output, from the start or from
// the tail offset, following it when asked until interrupted.
func (c *cli) copyLogs(client *api.Client, alloc *api.Allocation, o logsOptions) error {
	origin, offset := "start", int64(0)
	if o.tail && o.lines < 0 && o.bytes < 0 {
		o.lines = 10
	}
	switch {
	case o.bytes >= 0:
		origin, offset = "end", o.bytes
	case o.lines >= 0:
		origin, offset = "end", o.lines*bytesPerLine
	}
	cancel := make(chan struct{})
	frames, errCh := client.AllocFS().Logs(alloc, o.follow, o.task, logType(o), origin, offset, cancel, nil)
	reader := api.NewFrameReader(frames, errCh, cancel)
	defer reader.Close()
	if o.follow {
		interrupts := make(chan os.Signal, 1)
		signal.Notify(interrupts, os.Interrupt)
		defer signal.Stop(interrupts)
		go func() {
			<-interrupts
			reader.Close()
		}()
	}
	if o.lines < 0 {
		_, err := io.Copy(c.out, reader)
		return err
	}
	if o.follow {
		return c.followTail(reader, int(o.lines))
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, reader); err != nil {
		return err
	}
	_, err := c.out.Write(lastLines(buf.Bytes(), int(o.lines)))
	return err
}

// tailSettle bounds how long the log's current tail is gathered before it
// is cut to the last -n lines and following begins.
const tailSettle = 500 * time.Millisecond

// followTail prints the last n lines of what the log holds now, then
// everything written to it after.
func (c *cli) followTail(reader *api.FrameReader, n int) error {
	reader.SetUnblockTime(tailSettle)
	var buf bytes.Buffer
	chunk := make([]byte, 32*1024)
	for start := time.Now(); time.Since(start) < tailSettle; {
		read, err := reader.Read(chunk)
		buf.Write(chunk[:read])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if read == 0 {
			break
		}
	}
	if _, err := c.out.Write(lastLines(buf.Bytes(), n)); err != nil {
		return err
	}
	reader.SetUnblockTime(0)
	_, err := io.Copy(c.out, reader)
	return err
}

// lastLines returns the last n lines of data.
func lastLines(data []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			n--
			if n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}
