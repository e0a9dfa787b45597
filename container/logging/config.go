// Package logging is a container's log drivers, as Docker's: json-file (Docker's default: one
// JSON object per line in <id>-json.log), local (Docker's protobuf framing in
// local-logs/container.log) and none. Both file drivers rotate at max-size, keep max-file files
// and may gzip the rotated ones, so a container's log never grows without bound when asked not
// to; the readers read across the rotated (and compressed) files.
//
// One process writes a container's log (its supervisor: the shim, or a foreground berth); any
// number read it at once (`logs -f`). A reader that follows notices a rotation by the file at the
// log's path changing under it, finishes the old file, then goes on with the new one.
package logging

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	units "github.com/docker/go-units"
)

// Config is Docker's HostConfig.LogConfig: a driver and its options.
type Config struct {
	Type   string
	Config map[string]string
}

// The drivers berth has.
const (
	JSONFile = "json-file"
	Local    = "local"
	None     = "none"
)

// DefaultDriver is the driver of a container that names none, unless the config file says another.
const DefaultDriver = JSONFile

// ErrNotReadable is Docker's error for `logs` of a container whose driver keeps nothing.
var ErrNotReadable = errors.New("configured logging driver does not support reading")

// allowed is each driver's option keys (Docker 20.10's; json-file's label/env/tag keys only add
// attributes to entries, and are accepted and kept as Docker does).
var allowed = map[string]map[string]bool{
	JSONFile: set("max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"),
	Local:    set("max-file", "max-size", "compress"),
	None:     {},
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// Merge fills in a container's log config from the daemon-wide default, as dockerd does at
// create: the default driver when none is named, and the default options the container did not
// set when it uses the default driver. It returns a new Config.
func Merge(c, def Config) Config {
	if def.Type == "" {
		def.Type = DefaultDriver
	}
	out := Config{Type: c.Type, Config: map[string]string{}}
	if out.Type == "" {
		out.Type = def.Type
	}
	for k, v := range c.Config {
		out.Config[k] = v
	}
	if out.Type == def.Type {
		for k, v := range def.Config {
			if _, ok := out.Config[k]; !ok {
				out.Config[k] = v
			}
		}
	}
	return out
}

// ValidateKeys checks the driver and its option keys, as dockerd does when a container is
// created (the values are checked when the log is opened, at start, as Docker does).
func ValidateKeys(c Config) error {
	keys, ok := allowed[c.Type]
	if !ok {
		return fmt.Errorf("error looking up logging plugin %s: plugin %q not found", c.Type, c.Type)
	}
	if c.Type == None && len(c.Config) > 0 {
		return fmt.Errorf("invalid logging opts for driver %s", None)
	}
	names := make([]string, 0, len(c.Config))
	for k := range c.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !keys[k] {
			if c.Type == Local {
				return fmt.Errorf("unknown log opt '%s' for log driver %s", k, c.Type)
			}
			return fmt.Errorf("unknown log opt '%s' for %s log driver", k, c.Type)
		}
	}
	return nil
}

// rotation is how a file driver rotates.
type rotation struct {
	maxSize  int64 // -1: never
	maxFiles int   // files kept, the live one included
	compress bool
}

// parseRotation reads max-size, max-file and compress with Docker's defaults and Docker's errors
// (json-file: unbounded, 1 file, no compression; local: 20 MB, 5 files, compressed). The two
// drivers word their errors differently in Docker, and so they do here.
func parseRotation(c Config) (rotation, error) {
	if c.Type == Local {
		return parseLocalRotation(c.Config)
	}
	r := rotation{maxSize: -1, maxFiles: 1}
	if s, ok := c.Config["max-size"]; ok {
		n, err := units.FromHumanSize(s)
		if err != nil {
			return r, err
		}
		if n <= 0 {
			return r, errors.New("max-size must be a positive number")
		}
		r.maxSize = n
	}
	if s, ok := c.Config["max-file"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return r, err
		}
		if n < 1 {
			return r, errors.New("max-file cannot be less than 1")
		}
		r.maxFiles = n
	}
	if s, ok := c.Config["compress"]; ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return r, err
		}
		if b && (r.maxFiles == 1 || r.maxSize == -1) {
			return r, errors.New("compress cannot be true when max-file is less than 2 or max-size is not set")
		}
		r.compress = b
	}
	return r, nil
}

func parseLocalRotation(opts map[string]string) (rotation, error) {
	r := rotation{maxSize: 20 * 1024 * 1024, maxFiles: 5, compress: true}
	if s, ok := opts["max-size"]; ok {
		n, err := units.FromHumanSize(s)
		if err != nil {
			return r, fmt.Errorf("invalid value for max-size: %s: %w", s, err)
		}
		r.maxSize = n
	}
	if s, ok := opts["max-file"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return r, fmt.Errorf("invalid value for max-file: %s: %w", s, err)
		}
		r.maxFiles = n
	}
	if s, ok := opts["compress"]; ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return r, fmt.Errorf("error reading compress log option: %w", err)
		}
		r.compress = b
	}
	switch {
	case r.maxSize < 0:
		return r, errors.New("max size should be a positive number")
	case r.maxFiles < 0:
		return r, errors.New("max file count cannot be less than 0")
	case r.compress && r.maxFiles <= 1:
		return r, errors.New("compression cannot be enabled when max file count is 1")
	}
	if r.maxFiles == 0 {
		r.maxFiles = 1
	}
	return r, nil
}
