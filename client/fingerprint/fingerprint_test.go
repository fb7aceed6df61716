package fingerprint

import (
	"strconv"
	"testing"
)

func TestHost(t *testing.T) {
	r, err := Host(Config{AllocDir: t.TempDir(), NetworkInterface: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range []string{
		"cpu.numcores", "cpu.frequency", "cpu.totalcompute", "cpu.arch",
		"memory.totalbytes", "unique.storage.volume", "unique.storage.bytestotal",
		"unique.storage.bytesfree", "unique.network.ip-address", "kernel.name",
		"kernel.version", "kernel.arch", "os.name", "unique.hostname",
	} {
		t.Run(attr, func(t *testing.T) {
			if r.Attributes[attr] == "" {
				t.Fatalf("attribute %s missing", attr)
			}
		})
	}
	total, _ := strconv.ParseInt(r.Attributes["cpu.totalcompute"], 10, 64)
	if r.Resources.Cpu.CpuShares != total || total <= 0 {
		t.Fatalf("CpuShares %d, cpu.totalcompute %d", r.Resources.Cpu.CpuShares, total)
	}
	if r.Attributes["unique.network.ip-address"] != "127.0.0.1" || r.Resources.Networks[0].Device != "lo" {
		t.Fatalf("network = %+v", r.Resources.Networks[0])
	}
	if r.Resources.Memory.MemoryMB <= 0 || r.Resources.Disk.DiskMB <= 0 {
		t.Fatalf("resources = %+v", r.Resources)
	}
}
