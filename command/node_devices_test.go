package command

import (
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestFormatDevices(t *testing.T) {
	mem, used, total, util := int64(15360), int64(100), int64(15360), 42.0
	driver := "550.54.15"
	node := &api.Node{NodeResources: &api.NodeResources{Devices: []*api.NodeDeviceResource{{
		Vendor: "nvidia", Type: "gpu", Name: "Tesla T4",
		Attributes: map[string]*api.Attribute{"memory": {IntVal: &mem, Unit: "MiB"}, "driver_version": {StringVal: &driver}},
		Instances: []*api.NodeDevice{
			{ID: "GPU-a", Healthy: true, Locality: &api.NodeDeviceLocality{PciBusID: "00000000:18:00.0"}},
			{ID: "GPU-b", Healthy: false, HealthDescription: "NVML memory info: ERROR_GPU_IS_LOST"},
		},
	}}}}
	summary := &api.StatValue{IntNumeratorVal: &used, IntDenominatorVal: &total, Unit: "MiB"}
	stats := []*api.DeviceGroupStats{{Vendor: "nvidia", Type: "gpu", Name: "Tesla T4", InstanceStats: map[string]*api.DeviceStats{
		"GPU-a": {Summary: summary, Stats: &api.StatObject{Attributes: map[string]*api.StatValue{
			"GPU utilization": {FloatNumeratorVal: &util, Unit: "%"}, "Memory state": summary}}},
	}}}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"utilization", formatDeviceUtilization(stats), "nvidia/gpu/Tesla T4[GPU-a]  100 / 15360 MiB"},
		{"instances", formatDeviceInstances(node),
			"Device                      Healthy  Health Description                   PCI Bus ID\n" +
				"nvidia/gpu/Tesla T4[GPU-a]  true     <none>                               00000000:18:00.0\n" +
				"nvidia/gpu/Tesla T4[GPU-b]  false    NVML memory info: ERROR_GPU_IS_LOST  <none>"},
		{"attributes", formatDeviceAttributes(node),
			"Device Group   = nvidia/gpu/Tesla T4\ndriver_version = 550.54.15\nmemory         = 15360 MiB"},
		{"stats", formatDeviceStats(stats),
			"Device          = nvidia/gpu/Tesla T4[GPU-a]\nGPU utilization = 42 %\nMemory state    = 100 / 15360 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", tc.got, tc.want)
			}
		})
	}
}
