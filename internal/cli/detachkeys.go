package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/distribution"
)

// detachKeys resolves the keys that detach a client from a TTY container, as Docker's CLI does:
// --detach-keys, else "detachKeys" in ~/.docker/config.json ($DOCKER_CONFIG), else ctrl-p,ctrl-q
// (nil). invalid words the refusal of a bad spec: Docker's daemon says "Invalid detach keys (%s)
// provided" for run, attach and start, and "Invalid escape keys (%s) provided" for exec.
func detachKeys(flag, invalid string) ([]byte, error) {
	spec := flag
	if spec == "" {
		spec = configDetachKeys()
	}
	if spec == "" {
		return nil, nil
	}
	keys, err := container.ParseDetachKeys(spec)
	if err != nil {
		return nil, fmt.Errorf(invalid, spec)
	}
	return keys, nil
}

// configDetachKeys is the detachKeys setting of Docker's client configuration ("" when unset or
// unreadable: Docker's CLI then uses its default too).
func configDetachKeys() string {
	b, err := os.ReadFile(filepath.Join(distribution.DockerConfigDir(), "config.json"))
	if err != nil {
		return ""
	}
	var cfg struct {
		DetachKeys string `json:"detachKeys"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return ""
	}
	return cfg.DetachKeys
}

const (
	invalidDetachKeys = "Invalid detach keys (%s) provided"
	invalidEscapeKeys = "Invalid escape keys (%s) provided"
)
