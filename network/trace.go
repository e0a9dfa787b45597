package network

import (
	"fmt"
	"os"
	"time"
)

// tracing: BERTH_NETWORK_TRACE=1 prints how long each step of a container's network set-up and
// tear-down took, on stderr (bench/network reads it to show where the time goes).
var tracing = os.Getenv("BERTH_NETWORK_TRACE") != ""

// Trace reports one step that began at start, when tracing.
func Trace(step string, start time.Time) {
	if tracing {
		fmt.Fprintf(os.Stderr, "berth-network-trace\t%s\t%.3f\n", step, float64(time.Since(start).Microseconds())/1000)
	}
}
