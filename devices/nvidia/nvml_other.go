//go:build !(linux && cgo)

package nvidia

import "errors"

// errNoCgo is why a binary built without cgo finds no GPU: go-nvml loads
// NVML through cgo's dlopen.
var errNoCgo = errors.New("NVML cannot be loaded: roam was built without cgo (CGO_ENABLED=0)")

// nvmlSession stands in for NVML where it cannot be loaded.
type nvmlSession struct{}

func (s *nvmlSession) query() ([]gpu, string, error) { return nil, "", errNoCgo }

func (s *nvmlSession) sample() ([]sample, error) { return nil, errNoCgo }
