package hoststats

import "testing"

func TestCollect(t *testing.T) {
	c := NewCollector(t.TempDir(), 2000)
	for _, name := range []string{"first sample", "second sample"} {
		t.Run(name, func(t *testing.T) {
			s, err := c.Collect()
			if err != nil {
				t.Fatal(err)
			}
			if s.Memory.Total == 0 || len(s.CPU) == 0 || s.AllocDirStats.Size == 0 || s.Uptime == 0 {
				t.Fatalf("stats = %+v", s)
			}
		})
	}
}
