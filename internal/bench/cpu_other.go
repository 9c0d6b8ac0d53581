//go:build !unix

package bench

import "time"

// cpuTime is unknown on this system: CPU seconds report 0.
func cpuTime() time.Duration { return 0 }
