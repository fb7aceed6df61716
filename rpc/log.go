package rpc

import (
	"io"
	"log/slog"
)

// discardLogger drops the logs of client-side sessions; their failures are
// returned to callers instead.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
