package scheduler

import (
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// allocName is an allocation's name, "<job>.<group>[<index>]".
func allocName(job *api.Job, group string, index int) string {
	return deref(job.ID) + "." + group + "[" + strconv.Itoa(index) + "]"
}

// allocIndex is the index in an allocation's name, or -1 when the name has
// none.
func allocIndex(name string) int {
	if !strings.HasSuffix(name, "]") {
		return -1
	}
	open := strings.LastIndexByte(name, '[')
	if open < 0 {
		return -1
	}
	i, err := strconv.Atoi(name[open+1 : len(name)-1])
	if err != nil || i < 0 {
		return -1
	}
	return i
}
