package command

// printJSON prints v as Nomad's -json output and returns the exit code.
func (c *cli) printJSON(v any) int {
	out, err := formatJSON(v)
	if err != nil {
		c.errorf("Error formatting the data: %s", err)
		return 1
	}
	c.outf("%s", out)
	return 0
}

// printList prints a listing verb's result and returns the exit code: the
// items as JSON with -json, the none message when there are no items, and
// otherwise the table that table renders.
func printList[T any](c *cli, items []T, asJSON bool, none string, table func() string) int {
	if asJSON {
		return c.printJSON(items)
	}
	if len(items) == 0 {
		c.outf("%s", none)
		return 0
	}
	c.outf("%s", table())
	return 0
}
