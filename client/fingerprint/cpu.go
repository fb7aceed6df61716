package fingerprint

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// cpu detects cores and clock speed; a core's share is its MHz.
func cpu(_ Config, r *Result) error {
	model, mhz := cpuInfo()
	if max := maxFreqMHz(); max > 0 {
		mhz = max
	}
	if mhz <= 0 {
		mhz = 1000 // virtual machines sometimes hide it; Nomad's fallback is similar
	}
	cores := runtime.NumCPU()
	total := int64(cores) * int64(mhz)
	reservable := make([]uint16, cores)
	ids := make([]string, cores)
	for i := range reservable {
		reservable[i] = uint16(i)
		ids[i] = strconv.Itoa(i)
	}
	a := r.Attributes
	a["cpu.arch"] = runtime.GOARCH
	a["cpu.numcores"] = strconv.Itoa(cores)
	a["cpu.frequency"] = strconv.Itoa(mhz)
	a["cpu.totalcompute"] = strconv.FormatInt(total, 10)
	a["cpu.usablecompute"] = strconv.FormatInt(total, 10)
	a["cpu.reservablecores"] = strconv.Itoa(cores)
	if model != "" {
		a["cpu.modelname"] = model
	}
	r.Resources.Cpu.CpuShares = total
	r.Resources.Cpu.TotalCpuCores = uint16(cores)
	r.Resources.Cpu.ReservableCpuCores = reservable
	return nil
}

// cpuInfo reads the model name and clock of the first CPU in /proc/cpuinfo.
func cpuInfo() (model string, mhz int) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "", 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case key == "model name" && model == "":
			model = val
		case key == "cpu MHz" && mhz == 0:
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				mhz = int(f)
			}
		}
	}
	return model, mhz
}

// maxFreqMHz reads the highest clock of cpu0 from cpufreq, if present.
func maxFreqMHz() int {
	data, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
	if err != nil {
		return 0
	}
	khz, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return khz / 1000
}
