package fingerprint

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

// memory detects total memory from /proc/meminfo.
func memory(_ Config, r *Result) error {
	total, err := meminfoBytes("MemTotal")
	if err != nil {
		return err
	}
	r.Attributes["memory.totalbytes"] = strconv.FormatUint(total, 10)
	r.Resources.Memory.MemoryMB = int64(total / 1024 / 1024)
	return nil
}

// meminfoBytes reads one /proc/meminfo field in bytes.
func meminfoBytes(field string) (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if !ok || key != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, err
		}
		return kb * 1024, nil
	}
	return 0, errors.New(field + " not found in /proc/meminfo")
}
