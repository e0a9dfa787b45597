package system

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ServiceState says whether a `berth serve` runs over a root, and where it listens.
type ServiceState struct {
	Running bool
	Pid     int      `json:",omitempty"`
	Hosts   []string `json:",omitempty"`
	Started string   `json:",omitempty"`
}

type serviceRecord struct {
	Pid     int
	Hosts   []string
	Started time.Time
}

func servicesDir(root string) string { return filepath.Join(root, "services") }

// RecordService notes under root that this process serves the Engine API on hosts, for `info`;
// the returned function removes the note (call it when serving ends). A note left by a process
// that died is ignored by Service and replaced by the next one.
func RecordService(root string, hosts []string) (remove func(), err error) {
	dir := servicesDir(root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, err := json.Marshal(serviceRecord{Pid: os.Getpid(), Hosts: hosts, Started: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getpid())+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// Service reports the first live `berth serve` recorded under root; notes of dead processes are
// removed on the way.
func Service(root string) ServiceState {
	ents, err := os.ReadDir(servicesDir(root))
	if err != nil {
		return ServiceState{}
	}
	for _, e := range ents {
		path := filepath.Join(servicesDir(root), e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var rec serviceRecord
		if json.Unmarshal(b, &rec) != nil || rec.Pid <= 0 {
			continue
		}
		if err := syscall.Kill(rec.Pid, 0); err != nil && err != syscall.EPERM {
			os.Remove(path) // its process is gone
			continue
		}
		return ServiceState{Running: true, Pid: rec.Pid, Hosts: rec.Hosts, Started: rec.Started.Format(time.RFC3339)}
	}
	return ServiceState{}
}
